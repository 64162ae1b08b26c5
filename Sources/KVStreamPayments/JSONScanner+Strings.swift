extension JSONScanner {
    /// Scans a string whose opening quote is at the current position, leaving the position after the closing
    /// quote; returns whether the content holds a backslash escape.
    ///
    /// Validates everything ``JSONText/unescape(_:into:)`` and `String(decoding:as:)` will later rely on:
    /// no raw control characters, well-formed UTF-8, known escapes, and `\u` surrogates that come in pairs.
    mutating func scanString() throws(JSONSyntaxError) -> Bool {
        position += 1
        var escaped = false
        while true {
            position = Self.skipPlainWords(input, from: position)
            guard position < input.count else { throw .endOfInput(input.count) }
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return escaped
            } else if byte == UInt8(ascii: "\\") {
                try scanEscape()
                escaped = true
            } else if byte < 0x20 {
                throw JSONSyntaxError(offset: position, message: "control character in string")
            } else if byte >= 0x80 {
                try scanUTF8Sequence()
            } else {
                position += 1
            }
        }
    }

    /// Skips plain string bytes eight at a time while eight remain (most strings are ids and names of a few bytes):
    /// the offset of the first quote, backslash, control or non-ASCII byte, or of the last few bytes unread.
    @inline(__always)
    static func skipPlainWords(_ input: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index &+ 8 <= input.count {
            let special = specialBytes(input.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            if special != 0 { return index &+ special.trailingZeroBitCount >> 3 }
            index &+= 8
        }
        return index
    }

    /// The high bit of each byte of `word` (little-endian) that is a quote, a backslash, a control character or
    /// not ASCII. Bytes above the first such byte may be flagged wrongly (borrows), which is fine: only the
    /// lowest flagged byte is used.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control | word) & (ones &* 0x80)
    }

    /// Validates one escape sequence starting at the backslash under the current position.
    private mutating func scanEscape() throws(JSONSyntaxError) {
        let start = position
        position += 1
        switch try current() {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            position += 1
            let unit = try scanHex4()
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw JSONSyntaxError(offset: start, message: "unpaired surrogate")
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                // A high surrogate is only meaningful followed by an escaped low one.
                guard try current() == UInt8(ascii: "\\") else {
                    throw JSONSyntaxError(offset: start, message: "unpaired surrogate")
                }
                position += 1
                guard try current() == UInt8(ascii: "u") else {
                    throw JSONSyntaxError(offset: start, message: "unpaired surrogate")
                }
                position += 1
                let low = try scanHex4()
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw JSONSyntaxError(offset: start, message: "unpaired surrogate")
                }
            }
        default:
            throw JSONSyntaxError(offset: start, message: "invalid escape")
        }
    }

    private mutating func scanHex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = JSONText.hexValue(try current()) else {
                throw JSONSyntaxError(offset: position, message: "invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence whose lead byte is under the current position (RFC 3629:
    /// no overlong forms, no surrogates, nothing above U+10FFFF).
    private mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let start = position
        let lead = input[position]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: throw JSONSyntaxError(offset: start, message: "invalid UTF-8")
        }
        position += 1
        for index in 1..<length {
            let byte = try current()
            // Only the second byte has a narrowed range; the others are plain continuation bytes.
            let (min, max) = index == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= min && byte <= max else { throw JSONSyntaxError(offset: start, message: "invalid UTF-8") }
            position += 1
        }
    }
}

/// Helpers for the content of JSON strings that ``JSONScanner`` has already validated.
enum JSONText {
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Makes a `String` from validated string content (between the quotes).
    static func string(_ content: UnsafeRawBufferPointer, escaped: Bool) -> String {
        guard escaped else { return String(decoding: content, as: UTF8.self) }
        // Unescaping never lengthens the text: the longest output, 4 bytes, comes from a 12-byte surrogate pair.
        return String(unsafeUninitializedCapacity: content.count) {
            unescape(content, into: UnsafeMutableRawBufferPointer($0))
        }
    }

    /// Writes the UTF-8 of validated, escaped string content into `output` (at least `content.count` bytes)
    /// and returns the number of bytes written.
    static func unescape(_ content: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        var read = 0
        var written = 0
        while read < content.count {
            let byte = content[read]
            guard byte == UInt8(ascii: "\\") else {
                output[written] = byte
                written += 1
                read += 1
                continue
            }
            let kind = content[read + 1]
            read += 2
            let simple: UInt8
            switch kind {
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "r"): simple = 0x0D
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "u"):
                var scalar = hex4(content, at: read)
                read += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(content, at: read + 2)
                    read += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                written += encodeUTF8(scalar, into: output, at: written)
                continue
            default: simple = kind  // '"', '\\' and '/' stand for themselves.
            }
            output[written] = simple
            written += 1
        }
        return written
    }

    private static func hex4(_ content: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in offset..<offset + 4 { value = value << 4 | UInt32(hexValue(content[index]) ?? 0) }
        return value
    }

    private static func encodeUTF8(
        _ scalar: UInt32, into output: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Int {
        switch scalar {
        case ..<0x80:
            output[offset] = UInt8(scalar)
            return 1
        case ..<0x800:
            output[offset] = UInt8(0xC0 | scalar >> 6)
            output[offset + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case ..<0x10000:
            output[offset] = UInt8(0xE0 | scalar >> 12)
            output[offset + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[offset] = UInt8(0xF0 | scalar >> 18)
            output[offset + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}
