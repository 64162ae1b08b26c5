/// Makes `String`s of at most 15 ASCII bytes straight from their bytes: the ids and codes of a payment.
///
/// The standard library keeps such a string inline, in its two words: the bytes in order, then a last byte that
/// holds the length and the flags "immortal, small, ASCII" (`0xE0 | count`). `String(decoding:as:)` reaches that
/// form only after validating and copying byte by byte, ~15-20 ns per string, four to six strings a record; here
/// it is two loads, a mask and a check of the high bits, for text ``JSONScanner`` has validated already.
///
/// That layout is the standard library's own (it is the same on every 64-bit platform, and part of the ABI
/// on Apple's), but nothing public promises it. So ``isSupported`` first compares, for every length, what this
/// type makes with what `String(decoding:as:)` makes; on any difference the callers take the public path.
enum SmallASCII {
    /// The longest string held inline.
    static let capacity = 15

    /// Whether the running standard library lays out small strings as this type makes them, checked once for
    /// every length from 0 to 15. Only words are compared: no `String` is made from them unless they are, bit for
    /// bit, the standard library's own.
    static let isSupported: Bool = {
        guard MemoryLayout<String>.size == 16 else { return false }
        let text: [UInt8] = Array("abcdefghijklmno".utf8)
        for count in 0...capacity {
            let expected = words(of: String(decoding: text[..<count], as: UTF8.self))
            // Both ways of reading the bytes: whole words (16 bytes readable) and one by one (near the end).
            let padded = Array(text[..<count]) + Array(repeating: UInt8(ascii: "x"), count: 16)
            let exact = Array(text[..<count])
            for bytes in [padded, exact] {
                guard let made = bytes.withUnsafeBytes({ inline($0, start: 0, count: count) }), made == expected else {
                    return false
                }
            }
        }
        return true
    }()

    /// The string of the `count` bytes at `start` of `input`, or nil when it is longer than 15 bytes or not ASCII.
    /// Only call it when ``isSupported``.
    @inline(__always)
    static func string(_ input: UnsafeRawBufferPointer, start: Int, count: Int) -> String? {
        guard let words = inline(input, start: start, count: count) else { return nil }
        return unsafeBitCast(words, to: String.self)
    }

    /// The text of `count` validated, unescaped bytes at `start` of `input`: made in place when `inline` (pass
    /// ``isSupported``, read once per record) and it fits, the public way otherwise.
    @inline(__always)
    static func text(_ input: UnsafeRawBufferPointer, start: Int, count: Int, inline: Bool) -> String {
        if inline, let small = string(input, start: start, count: count) { return small }
        return String(decoding: UnsafeRawBufferPointer(rebasing: input[start..<start + count]), as: UTF8.self)
    }

    /// The two words of the inline form, or nil when the bytes do not fit it.
    @inline(__always)
    private static func inline(_ input: UnsafeRawBufferPointer, start: Int, count: Int) -> (UInt64, UInt64)? {
        guard count <= capacity else { return nil }
        let (low, high) = PackedWords.load(input, at: start, count: count)
        guard (low | high) & 0x8080_8080_8080_8080 == 0 else { return nil }
        return (low, high | (0xE0 | UInt64(count)) << 56)
    }

    private static func words(of string: String) -> (UInt64, UInt64) {
        unsafeBitCast(string, to: (UInt64, UInt64).self)
    }
}
