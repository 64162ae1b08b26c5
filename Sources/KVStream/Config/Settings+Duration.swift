extension Settings {
    /// A duration: a string of numbers with units (`"10s"`, `"250ms"`, `"1m30s"`, `"1.5h"`), or an integer (or a
    /// string holding only digits) counting milliseconds. Units are `ns`, `us`, `ms`, `s`, `m`, `h` and `d`.
    public func duration(_ path: String) throws(ConfigError) -> Duration? {
        guard let value = value(at: path) else { return nil }
        switch value {
        case .integer(let milliseconds) where milliseconds >= 0: return .milliseconds(milliseconds)
        case .string(let text): if let duration = DurationText.parse(text) { return duration }
        default: break
        }
        throw mismatch(path, expected: "a duration such as \"10s\", \"250ms\" or \"1m30s\"", got: value)
    }
}

/// The text form of durations in deployment files, as Go and Prometheus write them: `1h30m`, `250ms`.
enum DurationText {
    private static let nanosecondsPerUnit: [String: Int64] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
        "h": 3_600_000_000_000, "d": 86_400_000_000_000,
    ]

    /// The duration the text stands for, `nil` when it is not one, is negative, or exceeds 292 years.
    static func parse(_ text: String) -> Duration? {
        let characters = Array(Settings.trimmed(text))
        guard !characters.isEmpty else { return nil }
        if characters.allSatisfy(\.isASCIIDigit) {
            return Int64(String(characters)).map(Duration.milliseconds)
        }
        var total: Int64 = 0
        var position = 0
        func take(while predicate: (Character) -> Bool) -> String {
            let start = position
            while position < characters.count && predicate(characters[position]) { position += 1 }
            return String(characters[start..<position])
        }
        while position < characters.count {
            let whole = take(while: \.isASCIIDigit)
            var fraction = ""
            if position < characters.count && characters[position] == "." {
                position += 1
                fraction = take(while: \.isASCIIDigit)
            }
            let unit = take(while: { $0.isLetter })
            guard !whole.isEmpty || !fraction.isEmpty, let perUnit = nanosecondsPerUnit[unit],
                let wholeUnits = Int64(whole.isEmpty ? "0" : whole)
            else { return nil }
            let (wholeNanoseconds, overflow) = wholeUnits.multipliedReportingOverflow(by: perUnit)
            // A fraction only refines the whole part, so double precision is plenty: "1.5h", "0.25s".
            let fractionNanoseconds =
                fraction.isEmpty ? 0 : Int64(((Double("0." + fraction) ?? 0) * Double(perUnit)).rounded())
            let (sum, sumOverflow) = total.addingReportingOverflow(wholeNanoseconds)
            let (next, nextOverflow) = sum.addingReportingOverflow(fractionNanoseconds)
            guard !overflow, !sumOverflow, !nextOverflow else { return nil }
            total = next
        }
        return .nanoseconds(total)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
