import Testing

@testable import KVStreamPayments

/// The one-pass number readers against independent or general ones, over random literals of every shape JSON
/// allows: digits on both sides of the point, exponents, signs, long digit strings.
@Suite struct JSONNumberTests {
    /// A random valid JSON number literal; `seed` makes the sequence reproducible.
    static func literals(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        func digits(_ n: Int, leading: Bool) -> String {
            String((0..<n).map { i in Character(String(i == 0 && leading ? 1 + next(9) : next(10))) })
        }
        return (0..<count).map { _ in
            var literal = next(6) == 0 ? "-" : ""
            let integerDigits = next(4) == 0 ? 0 : 1 + next(next(3) == 0 ? 22 : 8)
            literal += integerDigits == 0 ? "0" : digits(integerDigits, leading: true)
            if next(4) != 0 {
                let fraction = 1 + next(next(3) == 0 ? 25 : 7)
                // Runs of zeros and of nines exercise the rounding edges.
                switch next(4) {
                case 0: literal += "." + String(repeating: "0", count: fraction - 1) + digits(1, leading: false)
                case 1: literal += "." + String(repeating: "9", count: fraction)
                case 2: literal += ".00" + String(repeating: "5", count: fraction)
                default: literal += "." + digits(fraction, leading: false)
                }
            }
            if next(8) == 0 { literal += ["e", "E", "e+", "e-"][next(4)] + String(next(30)) }
            return literal
        }
    }

    static func bytes<T>(_ literal: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var literal = literal
        return literal.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    @Test func oneShotCentsMatchTheGeneralPath() {
        var fast = 0
        for literal in Self.literals(count: 50_000, seed: 7) {
            let (cents, general, plain) = Self.bytes(literal) { bytes in
                let negative = bytes[0] == UInt8(ascii: "-")
                return (JSONNumber.cents(bytes), JSONNumber.anyCents(bytes), negative ? nil : JSONNumber.plainCents(bytes))
            }
            #expect(cents == general, "\(literal)")
            if plain != nil { fast += 1 }
        }
        // Most literals take the one-pass path, so the comparison covers it.
        #expect(fast > 25_000)
    }

    @Test func oneShotDoublesAreCorrectlyRounded() {
        var fast = 0
        for literal in Self.literals(count: 50_000, seed: 11) {
            let (value, plain) = Self.bytes(literal) { (JSONNumber.double($0), JSONNumber.plainDouble($0)) }
            let expected = Double(literal)!
            #expect(value == expected && value.sign == expected.sign, "\(literal)")
            if plain != nil { fast += 1 }
        }
        #expect(fast > 25_000)
    }

    @Test func oneShotIntegersMatchTheirValue() {
        for literal in ["0", "-0", "7", "-7", "1767225600000", "999999999999999999", "-999999999999999999",
                        "9223372036854775807", "-9223372036854775808"] {
            #expect(Self.bytes(literal) { JSONNumber.int64($0) } == Int64(literal), "\(literal)")
        }
        for literal in ["9223372036854775808", "-9223372036854775809", "12345678901234567890"] {
            #expect(Self.bytes(literal) { JSONNumber.int64($0) } == nil, "\(literal)")
        }
    }
}
