/// Writes JSON tokens into memory that the caller sized beforehand, with no capacity check per byte.
///
/// - Important: the caller must provide at least the sum of the `maximumCount` of everything it writes.
struct JSONWriter {
    let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    init(base: UnsafeMutablePointer<UInt8>) {
        self.base = base
    }

    /// The most bytes ``string(_:)`` writes for `text`: quotes, and every byte escaped as `\u00XX`.
    static func maximumCount(ofString text: String) -> Int { 2 + 6 * text.utf8.count }
    /// The most bytes ``integer(_:)``, ``cents(_:)`` or ``double(_:)`` write.
    static let maximumNumberCount = 32

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    @inline(__always)
    mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { raw($0) }
    }

    mutating func raw(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ raw($0) }) == nil {
            for value in text.utf8 { byte(value) }
        }
    }

    /// A string that needs no escaping, such as a key or an enumeration's name.
    @inline(__always)
    mutating func quoted(_ text: StaticString) {
        byte(UInt8(ascii: "\""))
        raw(text)
        byte(UInt8(ascii: "\""))
    }

    /// A JSON string, escaping quotes, backslashes and control characters; other UTF-8 is kept as is.
    mutating func string(_ text: String) {
        byte(UInt8(ascii: "\""))
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            raw(text)
        } else {
            for value in text.utf8 { escaped(value) }
        }
        byte(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ value: UInt8) {
        let escape: UInt8
        switch value {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape = value
        case 0x08: escape = UInt8(ascii: "b")
        case 0x0C: escape = UInt8(ascii: "f")
        case 0x0A: escape = UInt8(ascii: "n")
        case 0x0D: escape = UInt8(ascii: "r")
        case 0x09: escape = UInt8(ascii: "t")
        case ..<0x20:
            let hex: StaticString = "0123456789abcdef"
            raw("\\u00")
            byte(hex.utf8Start[Int(value >> 4)])
            byte(hex.utf8Start[Int(value & 0xF)])
            return
        default:
            byte(value)
            return
        }
        byte(UInt8(ascii: "\\"))
        byte(escape)
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        digits(value.magnitude, minimumCount: 1)
    }

    /// Cents as a decimal amount with exactly two decimals: 1234 as `12.34`, 5 as `0.05`.
    mutating func cents(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        digits(value.magnitude / 100, minimumCount: 1)
        byte(UInt8(ascii: "."))
        digits(value.magnitude % 100, minimumCount: 2)
    }

    /// A `Double` in Swift's shortest form that parses back to the same value (`-1.292123`, `1e-05`: both
    /// valid JSON). Non-finite values have no JSON form and are written as `null`.
    mutating func double(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        raw(value.description)
    }

    /// The decimal digits of `value`, left-padded with zeros to `minimumCount` (at most 20).
    private mutating func digits(_ value: UInt64, minimumCount: Int) {
        var digitCount = 1
        var rest = value / 10
        while rest > 0 {
            digitCount += 1
            rest /= 10
        }
        digitCount = max(digitCount, minimumCount)
        rest = value
        for index in stride(from: count + digitCount - 1, through: count, by: -1) {
            base[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        count += digitCount
    }
}
