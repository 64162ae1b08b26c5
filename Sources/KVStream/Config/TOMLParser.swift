/// Reads the TOML of deployment files into a ``ConfigTable``.
///
/// It accepts this subset of TOML v1.0:
/// - comments (`# ...`) at the end of any line and between array elements;
/// - table headers, `[job]`, `[sources.payments]`, `[ sinks . "odd name" ]`, with the v1.0 rules: a table is
///   defined once; a table implied by a deeper header may be defined later; tables made by dotted keys or by inline
///   tables cannot be reopened by a header;
/// - `key = value` lines with bare (`A-Za-z0-9_-`), "quoted" or 'literal' keys, dotted (`a.b."c d"`);
/// - basic strings with the escapes `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`, literal strings, and their
///   multi-line forms (`"""`, `'''`, with line-ending backslashes);
/// - integers (sign, `_` separators, `0x`, `0o`, `0b`), floats (fraction, exponent, `inf`, `nan`), booleans;
/// - arrays (several lines, trailing comma, nested, mixed types) and inline tables (`{ a = 1, b = "x" }`).
///
/// Not accepted, each with an error naming the line: arrays of tables (`[[name]]`) and dates and times (write
/// them as strings). As in v1.0, inline tables must fit on one line and take no trailing comma. Unlike v1.0,
/// control characters inside comments are not checked.
struct TOMLParser {
    /// The bytes the grammar is written in.
    enum Byte {
        static let tab = UInt8(ascii: "\t"), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " "), hash = UInt8(ascii: "#"), equals = UInt8(ascii: "=")
        static let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
        static let dot = UInt8(ascii: "."), comma = UInt8(ascii: ",")
        static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
        static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    }

    /// How a table came to be, which decides whether a header or a dotted key may add to it later.
    enum TableKind {
        /// Created on the way to a deeper header (`[a]` for `[a.b]`); may still get its own header once.
        case implicit
        /// Defined by its `[header]`.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`); further dotted keys may add to it.
        case dotted
        /// Written as an inline table; closed.
        case inline
    }

    let origin: String
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var root = ConfigTable()
    /// The table that `key = value` lines go to: the last header's.
    var current: [String] = []
    var tableKinds: [[String]: TableKind] = [:]
    /// The line each key and table was defined at, for errors about defining it again.
    var definedAt: [[String]: Int] = [:]

    init(text: String, origin: String) {
        self.origin = origin
        self.bytes = Array(text.utf8)
    }

    /// Parses a whole document.
    static func parse(_ text: String, origin: String) throws(ConfigError) -> ConfigTable {
        var parser = TOMLParser(text: text, origin: origin)
        try parser.parseDocument()
        return parser.root
    }

    /// Parses one value that makes up the whole text, with spaces around it allowed; no comment.
    static func parseValue(_ text: String, origin: String) throws(ConfigError) -> ConfigValue {
        var parser = TOMLParser(text: text, origin: origin)
        parser.skipSpaces()
        let value = try parser.parseValue()
        parser.skipSpaces()
        guard parser.peek == nil else { throw parser.error("unexpected \(parser.found()) after the value") }
        return value
    }

    /// Parses a dotted key that makes up the whole text.
    static func parseKey(_ text: String, origin: String) throws(ConfigError) -> [String] {
        var parser = TOMLParser(text: text, origin: origin)
        let key = try parser.parseKey()
        guard parser.peek == nil else { throw parser.error("unexpected \(parser.found()) in key") }
        return key
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    // MARK: Cursor

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func peek(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where index < bytes.count {
            if bytes[index] == Byte.lf { line += 1 }
            index += 1
        }
    }

    mutating func skipSpaces() {
        while peek == Byte.space || peek == Byte.tab { advance() }
    }

    /// Skips spaces, line breaks and comments, as allowed between array elements.
    mutating func skipBlankLinesAndComments() {
        while let byte = peek {
            switch byte {
            case Byte.space, Byte.tab, Byte.lf: advance()
            case Byte.cr where peek(1) == Byte.lf: advance(2)
            case Byte.hash: skipComment()
            default: return
            }
        }
    }

    mutating func skipComment() {
        while let byte = peek, byte != Byte.lf { advance() }
    }

    /// What the cursor is at, for error messages: `'x'`, `end of line`, `end of file`.
    func found() -> String {
        guard let byte = peek else { return "end of file" }
        if byte == Byte.lf || (byte == Byte.cr && peek(1) == Byte.lf) { return "end of line" }
        let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
        let text = String(decoding: bytes[index..<min(index + length, bytes.count)], as: UTF8.self)
        return byte < 0x20 || byte == 0x7F ? "control character U+\(hex(byte))" : "'\(text)'"
    }

    func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    func error(_ reason: String, line: Int? = nil) -> ConfigError {
        ConfigError(origin: origin, line: line ?? self.line, reason: reason)
    }

    func keyPath(_ path: some Sequence<String>) -> String { TOMLRenderer.keyPath(path) }

    // MARK: Document

    mutating func parseDocument() throws(ConfigError) {
        while true {
            skipSpaces()
            guard let byte = peek else { return }
            switch byte {
            case Byte.lf, Byte.cr, Byte.hash: try endLine(after: "spaces")
            case Byte.openBracket: try parseHeader()
            default: try parseKeyValue()
            }
        }
    }

    /// Consumes what may end a statement: spaces, a comment, and a line break or the end of the file.
    mutating func endLine(after what: String) throws(ConfigError) {
        skipSpaces()
        if peek == Byte.hash { skipComment() }
        switch peek {
        case nil: return
        case Byte.lf?: advance()
        case Byte.cr? where peek(1) == Byte.lf: advance(2)
        default: throw error("unexpected \(found()) after \(what); expected a new line or a comment")
        }
    }

    mutating func parseHeader() throws(ConfigError) {
        advance()
        if peek == Byte.openBracket { throw error("arrays of tables ([[name]]) are not supported") }
        let path = try parseKey()
        guard peek == Byte.closeBracket else {
            throw error("expected ']' after table name '\(keyPath(path))', found \(found())")
        }
        advance()
        try defineTable(path)
        current = path
        try endLine(after: "table header [\(keyPath(path))]")
    }

    mutating func parseKeyValue() throws(ConfigError) {
        let keyLine = line
        let key = try parseKey()
        guard peek == Byte.equals else {
            let atLineEnd = peek == nil || peek == Byte.lf || peek == Byte.cr
            throw error("expected '=' after key '\(keyPath(key))'" + (atLineEnd ? "" : ", found \(found())"))
        }
        advance()
        skipSpaces()
        let value = try parseValue()
        try insert(value, at: key, line: keyLine)
        try endLine(after: "the value of '\(keyPath(key))'")
    }

    /// Reads a key, dotted or not, with the spaces around it and around its dots.
    mutating func parseKey() throws(ConfigError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            parts.append(try parseSimpleKey())
            skipSpaces()
            guard peek == Byte.dot else { return parts }
            advance()
        }
    }

    private mutating func parseSimpleKey() throws(ConfigError) -> String {
        switch peek {
        case Byte.quote?: return try parseBasicString()
        case Byte.apostrophe?: return try parseLiteralString()
        default:
            let start = index
            while let byte = peek, Self.isBareKeyByte(byte) { advance() }
            guard index > start else { throw error("expected a key, found \(found())") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }
}
