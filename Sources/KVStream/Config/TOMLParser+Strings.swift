/// Strings: basic (`"..."`, with escapes), literal (`'...'`, as written), and their multi-line forms.
extension TOMLParser {
    /// Reads a one-line basic string from its opening quote.
    mutating func parseBasicString() throws(ConfigError) -> String {
        advance()
        var text: [UInt8] = []
        while true {
            guard let byte = peek, byte != Byte.lf, !(byte == Byte.cr && peek(1) == Byte.lf) else {
                throw error("unterminated string; expected '\"' before the end of the line")
            }
            switch byte {
            case Byte.quote:
                advance()
                return String(decoding: text, as: UTF8.self)
            case Byte.backslash: try appendEscape(to: &text)
            default: try appendCharacter(byte, to: &text)
            }
        }
    }

    /// Reads a one-line literal string from its opening apostrophe.
    mutating func parseLiteralString() throws(ConfigError) -> String {
        advance()
        var text: [UInt8] = []
        while true {
            guard let byte = peek, byte != Byte.lf, !(byte == Byte.cr && peek(1) == Byte.lf) else {
                throw error("unterminated literal string; expected \"'\" before the end of the line")
            }
            if byte == Byte.apostrophe {
                advance()
                return String(decoding: text, as: UTF8.self)
            }
            try appendCharacter(byte, to: &text)
        }
    }

    /// Reads a `"""` string: escapes apply, and a backslash at the end of a line joins it to the next text.
    mutating func parseMultilineBasicString() throws(ConfigError) -> String {
        try parseMultiline(delimiter: Byte.quote, escapes: true)
    }

    /// Reads a `'''` string: the text as written.
    mutating func parseMultilineLiteralString() throws(ConfigError) -> String {
        try parseMultiline(delimiter: Byte.apostrophe, escapes: false)
    }

    /// The shared shape of multi-line strings: a line break right after the opening delimiter is dropped, line
    /// breaks are kept as `\n`, and up to two delimiter characters may sit just before the closing three.
    private mutating func parseMultiline(delimiter: UInt8, escapes: Bool) throws(ConfigError) -> String {
        let openLine = line
        advance(3)
        if peek == Byte.lf { advance() } else if peek == Byte.cr && peek(1) == Byte.lf { advance(2) }
        var text: [UInt8] = []
        while true {
            guard let byte = peek else {
                throw error("unterminated multi-line string (opened at line \(openLine))", line: openLine)
            }
            switch byte {
            case delimiter:
                var run = 0
                while peek(run) == delimiter { run += 1 }
                advance(run)
                guard run >= 3 else {
                    text += repeatElement(delimiter, count: run)
                    continue
                }
                guard run <= 5 else { throw error("too many quotes at the end of a multi-line string") }
                text += repeatElement(delimiter, count: run - 3)
                return String(decoding: text, as: UTF8.self)
            case Byte.backslash where escapes && isLineEndingBackslash():
                advance()
                skipBlankLines()
            case Byte.backslash where escapes:
                try appendEscape(to: &text)
            case Byte.lf:
                text.append(Byte.lf)
                advance()
            case Byte.cr where peek(1) == Byte.lf:
                text.append(Byte.lf)
                advance(2)
            default:
                try appendCharacter(byte, to: &text)
            }
        }
    }

    /// Whether the backslash at the cursor is followed by nothing but spaces up to the end of its line.
    private func isLineEndingBackslash() -> Bool {
        var offset = 1
        while peek(offset) == Byte.space || peek(offset) == Byte.tab { offset += 1 }
        return peek(offset) == Byte.lf || (peek(offset) == Byte.cr && peek(offset + 1) == Byte.lf)
    }

    private mutating func skipBlankLines() {
        while let byte = peek, byte == Byte.space || byte == Byte.tab || byte == Byte.lf || byte == Byte.cr {
            advance()
        }
    }

    /// Appends one byte of string text, refusing the control characters TOML wants escaped (all but tab).
    private mutating func appendCharacter(_ byte: UInt8, to text: inout [UInt8]) throws(ConfigError) {
        guard byte >= 0x20 || byte == Byte.tab, byte != 0x7F else {
            throw error("control character U+\(hex(byte)) in a string must be written as an escape")
        }
        text.append(byte)
        advance()
    }

    /// Reads an escape sequence from its backslash and appends what it stands for.
    private mutating func appendEscape(to text: inout [UInt8]) throws(ConfigError) {
        advance()
        guard let byte = peek, byte >= 0x21, byte < 0x7F else {
            throw error("invalid escape sequence: '\\' followed by \(found())")
        }
        advance()
        switch byte {
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "t"): text.append(Byte.tab)
        case UInt8(ascii: "n"): text.append(Byte.lf)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "r"): text.append(Byte.cr)
        case Byte.quote, Byte.backslash: text.append(byte)
        case UInt8(ascii: "u"): try appendUnicodeEscape(digits: 4, letter: "u", to: &text)
        case UInt8(ascii: "U"): try appendUnicodeEscape(digits: 8, letter: "U", to: &text)
        default:
            throw error(
                "invalid escape sequence '\\\(Character(Unicode.Scalar(byte)))' in string; "
                    + "valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX")
        }
    }

    private mutating func appendUnicodeEscape(digits: Int, letter: String, to text: inout [UInt8]) throws(ConfigError) {
        var hexDigits = ""
        while hexDigits.count < digits, let byte = peek(hexDigits.count), Character(Unicode.Scalar(byte)).isHexDigit {
            hexDigits.append(Character(Unicode.Scalar(byte)))
        }
        guard hexDigits.count == digits, let code = UInt32(hexDigits, radix: 16) else {
            throw error("invalid unicode escape '\\\(letter)\(hexDigits)'; expected \(digits) hexadecimal digits")
        }
        guard let scalar = Unicode.Scalar(code) else {
            throw error("invalid unicode escape '\\\(letter)\(hexDigits)'; not a Unicode scalar value")
        }
        advance(digits)
        text += String(Character(scalar)).utf8
    }
}
