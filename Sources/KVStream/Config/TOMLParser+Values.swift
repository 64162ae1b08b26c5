/// Values: scalars written as bare tokens (numbers, booleans), arrays and inline tables.
extension TOMLParser {
    /// Reads the value at the cursor.
    mutating func parseValue() throws(ConfigError) -> ConfigValue {
        guard let byte = peek, byte != Byte.lf, byte != Byte.cr, byte != Byte.hash else {
            throw error("expected a value, found \(found())")
        }
        switch byte {
        case Byte.quote:
            return .string(
                peek(1) == Byte.quote && peek(2) == Byte.quote
                    ? try parseMultilineBasicString() : try parseBasicString())
        case Byte.apostrophe:
            return .string(
                peek(1) == Byte.apostrophe && peek(2) == Byte.apostrophe
                    ? try parseMultilineLiteralString() : try parseLiteralString())
        case Byte.openBracket: return try parseArray()
        case Byte.openBrace: return try parseInlineTable()
        default: return try parseToken()
        }
    }

    /// Reads a number or a boolean: everything up to the next space, separator, comment or line break.
    private mutating func parseToken() throws(ConfigError) -> ConfigValue {
        let start = index
        while let byte = peek, !Self.tokenEnds.contains(byte) { advance() }
        guard index > start else { throw error("expected a value, found \(found())") }
        let token = String(decoding: bytes[start..<index], as: UTF8.self)
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.looksLikeDateOrTime(token) {
            throw error("dates and times are not supported; write '\(token)' as a string in quotes")
        }
        if let number = try number(from: token) { return number }
        throw error("invalid value '\(token)'; a string must be in quotes: \(TOMLRenderer.string(token))")
    }

    private static let tokenEnds: Set<UInt8> = [
        Byte.space, Byte.tab, Byte.lf, Byte.cr, Byte.comma, Byte.closeBracket, Byte.closeBrace, Byte.hash,
    ]

    /// An integer or float, `nil` when the token is not shaped like a number.
    private func number(from token: String) throws(ConfigError) -> ConfigValue? {
        var unsigned = Substring(token)
        if unsigned.first == "+" || unsigned.first == "-" { unsigned = unsigned.dropFirst() }
        let radix: Int? =
            switch unsigned.prefix(2) {
            case "0x": 16
            case "0o": 8
            case "0b": 2
            default: nil
            }
        if let radix {
            let digits = unsigned.dropFirst(2)
            guard Self.isDigitGroup(digits, radix: radix) else { return nil }
            guard unsigned.count == token.count else {
                throw error("'\(token)': a sign is not allowed on hexadecimal, octal or binary integers")
            }
            guard let value = Int64(digits.filter { $0 != "_" }, radix: radix) else {
                throw error("integer '\(token)' does not fit in 64 bits")
            }
            return .integer(value)
        }
        let exponentStart = unsigned.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = unsigned[..<(exponentStart ?? unsigned.endIndex)]
        let dot = mantissa.firstIndex(of: ".")
        let integerPart = mantissa[..<(dot ?? mantissa.endIndex)]
        guard Self.isDigitGroup(integerPart, radix: 10) else { return nil }
        if let dot, !Self.isDigitGroup(mantissa[mantissa.index(after: dot)...], radix: 10) { return nil }
        if let exponentStart {
            var exponent = unsigned[unsigned.index(after: exponentStart)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard Self.isDigitGroup(exponent, radix: 10) else { return nil }
        }
        if integerPart.count > 1 && integerPart.first == "0" {
            throw error("leading zeros are not allowed in number '\(token)'")
        }
        let plain = token.filter { $0 != "_" }
        if dot == nil && exponentStart == nil {
            guard let value = Int64(plain) else { throw error("integer '\(token)' does not fit in 64 bits") }
            return .integer(value)
        }
        return Double(plain).map(ConfigValue.float)
    }

    /// Digits of the radix, with single underscores between digits only (`1_000`, not `_1`, `1__0` or `1_`).
    private static func isDigitGroup(_ text: Substring, radix: Int) -> Bool {
        guard let first = text.first, let last = text.last, first != "_", last != "_" else { return false }
        var previous: Character = "0"
        for character in text {
            if character == "_" {
                if previous == "_" { return false }
            } else if !character.isASCII || (character.hexDigitValue ?? radix) >= radix {
                return false
            }
            previous = character
        }
        return true
    }

    /// `1979-05-27...` or `07:32:00...`: TOML dates and times, which deployment files have no use for.
    private static func looksLikeDateOrTime(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        func matches(_ pattern: String) -> Bool {
            let shape = Array(pattern.utf8)
            guard bytes.count >= shape.count else { return false }
            return zip(bytes, shape).allSatisfy { byte, expected in
                expected == UInt8(ascii: "9")
                    ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
            }
        }
        return matches("9999-99-99") || matches("99:99:")
    }

    private mutating func parseArray() throws(ConfigError) -> ConfigValue {
        let openLine = line
        advance()
        var items: [ConfigValue] = []
        while true {
            skipBlankLinesAndComments()
            if peek == Byte.closeBracket { break }
            guard peek != nil else { throw error("unterminated array (opened at line \(openLine)); expected ']'") }
            items.append(try parseValue())
            skipBlankLinesAndComments()
            if peek == Byte.comma {
                advance()
            } else if peek == nil {
                throw error("unterminated array (opened at line \(openLine)); expected ']'")
            } else if peek != Byte.closeBracket {
                throw error("expected ',' or ']' in array, found \(found())")
            }
        }
        advance()
        return .array(items)
    }

    private mutating func parseInlineTable() throws(ConfigError) -> ConfigValue {
        advance()
        var table = ConfigTable()
        var dottedTables: Set<[String]> = []
        skipSpaces()
        if peek == Byte.closeBrace {
            advance()
            return .table(table)
        }
        while true {
            let key = try parseKey()
            guard peek == Byte.equals else {
                throw error("expected '=' after key '\(keyPath(key))' in inline table, found \(found())")
            }
            advance()
            skipSpaces()
            let value = try parseValue()
            try insert(value, at: key, into: &table, dottedTables: &dottedTables)
            skipSpaces()
            switch peek {
            case Byte.comma?:
                advance()
                skipSpaces()
                if peek == Byte.closeBrace { throw error("a trailing comma is not allowed in an inline table") }
            case Byte.closeBrace?:
                advance()
                return .table(table)
            case nil, Byte.lf?, Byte.cr?:
                throw error("unterminated inline table; an inline table must end with '}' on the line it starts")
            default:
                throw error("expected ',' or '}' in inline table, found \(found())")
            }
        }
    }
}
