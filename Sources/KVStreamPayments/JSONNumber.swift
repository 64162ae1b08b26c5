/// Conversions of number literals that ``JSONScanner`` has already validated.
enum JSONNumber {
    /// The outcome of converting an amount literal to cents.
    enum Cents: Equatable {
        case cents(Int64)
        /// Negative, zero, or rounds to zero cents.
        case notPositive
        /// 1e16 or more, beyond `numeric(18,2)`.
        case outOfRange
        /// Too large even for a `Double`.
        case notFinite
    }

    /// The largest number of cents `numeric(18,2)` holds, plus one.
    static let centsLimit: Int64 = 1_000_000_000_000_000_000

    /// Parses an integer literal (no fraction, no exponent); nil when it does not fit an `Int64`.
    static func int64(_ literal: UnsafeRawBufferPointer) -> Int64? {
        let negative = literal[0] == UInt8(ascii: "-")
        let first = negative ? 1 : 0
        // Up to 18 digits cannot overflow, so they need no check per digit (a millisecond timestamp has 13).
        if literal.count - first <= 18 {
            var magnitude: Int64 = 0
            for index in first..<literal.count {
                magnitude = magnitude &* 10 &+ Int64(literal[index] &- UInt8(ascii: "0"))
            }
            return negative ? -magnitude : magnitude
        }
        var value: Int64 = 0
        for index in (negative ? 1 : 0)..<literal.count {
            let digit = Int64(literal[index] &- UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
        }
        return value
    }

    /// Converts an amount literal to cents exactly, from its decimal digits, rounding half away from zero.
    ///
    /// Going through `Double` would turn `0.29` into 28.999999999999996 cents; reading the digits does not.
    static func cents(_ literal: UnsafeRawBufferPointer) -> Cents {
        if literal[0] == UInt8(ascii: "-") { return .notPositive }
        if let cents = plainCents(literal) {
            return cents == 0 ? .notPositive : cents >= centsLimit ? .outOfRange : .cents(cents)
        }
        return anyCents(literal)
    }

    /// ``cents(_:)`` for any literal, exponents and long digit strings included: the path of literals that
    /// ``plainCents(_:)`` does not take (tests hold the two to the same results).
    static func anyCents(_ literal: UnsafeRawBufferPointer) -> Cents {
        if literal[0] == UInt8(ascii: "-") { return .notPositive }
        let digits = DecimalDigits(literal)
        guard let first = digits.firstSignificant else { return .notPositive }
        // The literal is 0.d1d2d3... x 10^pointPosition, with d1 the first non-zero digit.
        let pointPosition = digits.pointPosition(firstSignificant: first)
        if pointPosition > 16 { return isFinite(literal) ? .outOfRange : .notFinite }
        let wholeCentDigits = pointPosition + 2
        var cents: Int64 = 0
        if wholeCentDigits > 0 {
            for offset in 0..<wholeCentDigits { cents = cents * 10 + Int64(digits.digit(first + offset)) }
        }
        // Half away from zero: only the first dropped digit matters, as the value is exact.
        if wholeCentDigits >= 0 && digits.digit(first + wholeCentDigits) >= 5 { cents += 1 }
        if cents == 0 { return .notPositive }
        return cents >= centsLimit ? .outOfRange : .cents(cents)
    }

    /// Parses a number literal to the nearest `Double`.
    ///
    /// Up to 15 significant digits and a power of ten within 22, one exact conversion and one correctly
    /// rounded multiplication or division give the nearest `Double` (Clinger's fast path); coordinates
    /// printed with six decimals always take it. Other literals go through the standard library's parser.
    static func double(_ literal: UnsafeRawBufferPointer) -> Double {
        if let value = plainDouble(literal) { return value }
        let digits = DecimalDigits(literal)
        guard let first = digits.firstSignificant else { return digits.negative ? -0.0 : 0.0 }
        let significantCount = digits.count - first
        if significantCount <= 15 {
            var mantissa: Int64 = 0
            for index in first..<digits.count { mantissa = mantissa * 10 + Int64(digits.digit(index)) }
            let exponent = digits.pointPosition(firstSignificant: first) - significantCount
            if exponent >= -22 && exponent <= 22 {
                let magnitude =
                    exponent < 0
                    ? Double(mantissa) / powersOfTen[-exponent]
                    : Double(mantissa) * powersOfTen[exponent]
                return digits.negative ? -magnitude : magnitude
            }
        }
        return Double(String(decoding: literal, as: UTF8.self)) ?? .nan
    }

    /// The cents of a literal without exponent and with at most 16 integer digits (every amount a payment
    /// system writes), read in one pass; nil for other literals, which take the general path of ``cents(_:)``.
    /// Same result: the two first fraction digits, rounded half away from zero on the third.
    @inline(__always)
    static func plainCents(_ literal: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var whole: Int64 = 0
        while index < literal.count, case let digit = literal[index] &- UInt8(ascii: "0"), digit < 10 {
            whole = whole &* 10 &+ Int64(digit)
            index += 1
        }
        guard index <= 16 else { return nil }
        var cents = whole &* 100
        guard index < literal.count else { return cents }
        guard literal[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        // Tenths, hundredths, then the digit that rounds; a digit missing is a zero.
        for place in 0..<3 {
            guard index < literal.count, case let digit = literal[index] &- UInt8(ascii: "0"), digit < 10 else { break }
            if place < 2 {
                cents &+= Int64(digit) &* (place == 0 ? 10 : 1)
            } else if digit >= 5 {
                cents &+= 1
            }
            index += 1
        }
        while index < literal.count && literal[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        return index == literal.count ? cents : nil
    }

    /// The value of a literal without exponent whose digits, read as one integer, stay within 2^53 (coordinates,
    /// amounts), in one pass: that integer divided by a power of ten of at most 22, both exact, rounds once, to
    /// the nearest `Double` (Clinger's fast path). Nil for other literals, which take the general path.
    @inline(__always)
    static func plainDouble(_ literal: UnsafeRawBufferPointer) -> Double? {
        let negative = literal[0] == UInt8(ascii: "-")
        var index = negative ? 1 : 0
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var inFraction = false
        while index < literal.count {
            let byte = literal[index]
            if byte &- UInt8(ascii: "0") < 10 {
                mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                digits += 1
                if inFraction { fractionDigits += 1 }
            } else if byte == UInt8(ascii: ".") {
                inFraction = true
            } else {
                return nil
            }
            index += 1
        }
        guard digits <= 19 && mantissa <= 1 << 53 && fractionDigits <= 22 else { return nil }
        let magnitude = Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }

    private static func isFinite(_ literal: UnsafeRawBufferPointer) -> Bool {
        (Double(String(decoding: literal, as: UTF8.self)) ?? .infinity).isFinite
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]
}

/// The digits of a number literal read as one sequence (integer digits, then fraction digits), with the
/// position of the decimal point after the exponent is applied.
private struct DecimalDigits {
    let literal: UnsafeRawBufferPointer
    let negative: Bool
    let integerStart: Int
    let integerCount: Int
    let fractionStart: Int
    /// Integer plus fraction digits.
    let count: Int
    /// The exponent, saturated far beyond any range that matters so it cannot overflow.
    let exponent: Int

    init(_ literal: UnsafeRawBufferPointer) {
        self.literal = literal
        negative = literal[0] == UInt8(ascii: "-")
        integerStart = negative ? 1 : 0
        var index = integerStart
        while index < literal.count && literal[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        integerCount = index - integerStart
        var fractionCount = 0
        if index < literal.count && literal[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < literal.count && literal[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            fractionCount = index - fractionStart
        } else {
            fractionStart = index
        }
        count = integerCount + fractionCount
        var exponent = 0
        if index < literal.count {  // 'e' or 'E'
            index += 1
            let negativeExponent = literal[index] == UInt8(ascii: "-")
            if literal[index] == UInt8(ascii: "-") || literal[index] == UInt8(ascii: "+") { index += 1 }
            while index < literal.count {
                exponent = min(exponent * 10 + Int(literal[index] &- UInt8(ascii: "0")), 1_000_000_000)
                index += 1
            }
            if negativeExponent { exponent = -exponent }
        }
        self.exponent = exponent
    }

    /// The `index`-th digit of the sequence; 0 past its end, as trailing zeros would be.
    @inline(__always)
    func digit(_ index: Int) -> UInt8 {
        if index < integerCount { return literal[integerStart + index] &- UInt8(ascii: "0") }
        if index < count { return literal[fractionStart + index - integerCount] &- UInt8(ascii: "0") }
        return 0
    }

    /// The index of the first non-zero digit; nil when the literal is zero.
    var firstSignificant: Int? {
        for index in 0..<count where digit(index) != 0 { return index }
        return nil
    }

    /// How many digits, counted from the first significant one, stand before the decimal point (negative
    /// when zeros follow the point first).
    func pointPosition(firstSignificant: Int) -> Int { integerCount + exponent - firstSignificant }
}
