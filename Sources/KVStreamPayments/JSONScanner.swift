/// A syntax error in JSON text: the byte offset where it was found and what was expected there.
///
/// The message is a `StaticString` so that raising the error allocates nothing; the decoder builds the
/// rejection reason only once, on the way out.
struct JSONSyntaxError: Error {
    var offset: Int
    var message: StaticString

    static func endOfInput(_ count: Int) -> JSONSyntaxError {
        JSONSyntaxError(offset: count, message: "unexpected end of input")
    }
}

/// The kind of a JSON value found by ``JSONScanner``.
enum JSONValueKind: UInt8 {
    /// The key was not seen (or held `null`, which the payment rules treat the same way).
    case absent
    case bool, number, string, object, array
}

/// Where a scanned value sits in the input, and what it is.
///
/// The decoder records one span per known field while it scans and interprets them only once the whole
/// object is known to be valid JSON, so a duplicate key costs nothing and the last one wins.
struct JSONSpan {
    var start: Int
    var end: Int
    var kind: JSONValueKind
    /// Strings: the content holds at least one backslash escape. Numbers: a fraction or an exponent was written.
    var flag: Bool

    static let absent = JSONSpan(start: 0, end: 0, kind: .absent, flag: false)
}

/// A forward-only JSON tokenizer over raw bytes (RFC 8259), allocation-free.
///
/// It validates as it goes, including UTF-8 inside strings and the pairing of `\u` surrogate escapes, so that
/// turning a span it hands out into a `String` later never needs a repair. Every place where the
/// input ends too early reports "unexpected end of input" at the input's length: a truncated record always
/// gets that one reason, whatever was cut.
struct JSONScanner {
    let input: UnsafeRawBufferPointer
    var position = 0

    /// Nesting deeper than this in an ignored field is refused, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    init(_ input: UnsafeRawBufferPointer) {
        self.input = input
    }

    var isAtEnd: Bool { position >= input.count }

    @inline(__always)
    func byte(_ offset: Int) -> UInt8 { input[offset] }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next byte, or an end-of-input error.
    @inline(__always)
    func current() throws(JSONSyntaxError) -> UInt8 {
        guard position < input.count else { throw .endOfInput(input.count) }
        return input[position]
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ message: StaticString) throws(JSONSyntaxError) {
        guard try current() == byte else { throw JSONSyntaxError(offset: position, message: message) }
        position += 1
    }

    /// Scans any value starting at the current position and says what it was.
    mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONSpan {
        let start = position
        switch try current() {
        case UInt8(ascii: "\""):
            let escaped = try scanString()
            return JSONSpan(start: start + 1, end: position - 1, kind: .string, flag: escaped)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let fractional = try scanNumber()
            return JSONSpan(start: start, end: position, kind: .number, flag: fractional)
        case UInt8(ascii: "{"):
            try skipContainer(close: UInt8(ascii: "}"), depth: depth)
            return JSONSpan(start: start, end: position, kind: .object, flag: false)
        case UInt8(ascii: "["):
            try skipContainer(close: UInt8(ascii: "]"), depth: depth)
            return JSONSpan(start: start, end: position, kind: .array, flag: false)
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return JSONSpan(start: start, end: position, kind: .bool, flag: false)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return JSONSpan(start: start, end: position, kind: .bool, flag: false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return .absent
        default:
            throw JSONSyntaxError(offset: start, message: "expected a value")
        }
    }

    /// Skips an object or an array whose opening bracket is at the current position.
    private mutating func skipContainer(close: UInt8, depth: Int) throws(JSONSyntaxError) {
        guard depth < Self.maxDepth else { throw JSONSyntaxError(offset: position, message: "nesting too deep") }
        let isObject = close == UInt8(ascii: "}")
        position += 1
        skipWhitespace()
        if try current() == close {
            position += 1
            return
        }
        var first = true
        while true {
            if isObject {
                guard try current() == UInt8(ascii: "\"") else {
                    throw JSONSyntaxError(offset: position, message: first ? "expected '\"' or '}'" : "expected '\"'")
                }
                first = false
                _ = try scanString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "expected ':'")
                skipWhitespace()
            }
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            let next = try current()
            position += 1
            if next == close { return }
            guard next == UInt8(ascii: ",") else {
                position -= 1
                throw JSONSyntaxError(
                    offset: position, message: isObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
            skipWhitespace()
        }
    }

    /// Checks that the bytes at the current position spell `literal` (`true`, `false` or `null`).
    private mutating func scanLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let start = position
        for index in 0..<literal.utf8CodeUnitCount {
            guard position < input.count else { throw .endOfInput(input.count) }
            guard input[position] == literal.utf8Start[index] else {
                throw JSONSyntaxError(offset: start, message: "invalid literal")
            }
            position += 1
        }
    }

    /// Scans a number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`); returns whether it had a fraction or
    /// an exponent.
    mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        if input[position] == UInt8(ascii: "-") { position += 1 }
        let first = try current()
        if first == UInt8(ascii: "0") {
            position += 1
        } else if first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") {
            skipDigits()
        } else {
            throw JSONSyntaxError(offset: position, message: "invalid number")
        }
        var fractional = false
        if position < input.count && input[position] == UInt8(ascii: ".") {
            position += 1
            try requireDigit()
            skipDigits()
            fractional = true
        }
        if position < input.count && (input[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < input.count && (input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-"))
            {
                position += 1
            }
            try requireDigit()
            skipDigits()
            fractional = true
        }
        return fractional
    }

    @inline(__always)
    private mutating func requireDigit() throws(JSONSyntaxError) {
        let digit = try current()
        guard digit &- UInt8(ascii: "0") < 10 else {
            throw JSONSyntaxError(offset: position, message: "invalid number")
        }
    }

    @inline(__always)
    private mutating func skipDigits() {
        while position < input.count && input[position] &- UInt8(ascii: "0") < 10 { position += 1 }
    }
}
