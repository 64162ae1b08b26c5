/// Why a record is not a valid payment: a short reason that names the rule it broke (SPEC section 2).
///
/// Reasons are stable: dead-letter outputs, tests and dashboards compare them as text. Byte offsets count
/// from 0 at the first byte of the record as given, leading whitespace included. The reasons:
/// - `empty record`, `not a JSON object`, `trailing data after JSON object at byte N`;
/// - `invalid JSON at byte N: DETAIL`, DETAIL one of `unexpected end of input` (N is then the record's length,
///   so every truncated record gets this one), `expected a value`, `expected ':'`, `expected '"'`,
///   `expected '"' or '}'`, `expected ',' or '}'`, `expected ',' or ']'`, `invalid number`, `invalid literal`,
///   `invalid escape`, `invalid \u escape`, `unpaired surrogate`, `control character in string`,
///   `invalid UTF-8`, `nesting too deep`;
/// - `missing field 'F'` (absent or `null`);
/// - `field 'F' RULE`: `must be a non-empty string` (`event_id`, `customer_id`, `merchant_id`), `must be a
///   string` (`device_id`, `beneficiary_id`), `must be an integer`, `must be > 0` or `out of range` (`ts`),
///   `must be a number`, `must be > 0`, `must be finite` (too large for a `Double`) or `out of range`
///   (`amount`), `must be one of card_payment, transfer, withdrawal, deposit, bill_payment, airtime`,
///   `must be one of web, mobile, pos, api, agent`, `must be 3 uppercase letters`, `must be 2 uppercase
///   letters`, `must be a number`, `out of range [-90, 90]` (`lat`) or `out of range [-180, 180]` (`lon`);
/// - `fields 'lat' and 'lon' must be given together`.
public struct PaymentRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }

    static let emptyRecord = PaymentRejection(reason: "empty record")
    static let notAnObject = PaymentRejection(reason: "not a JSON object")

    static func invalidJSON(_ error: JSONSyntaxError) -> PaymentRejection {
        PaymentRejection(reason: "invalid JSON at byte \(error.offset): \(error.message)")
    }

    static func field(_ field: PaymentField, _ rule: String) -> PaymentRejection {
        PaymentRejection(reason: "field '\(field.nameString)' \(rule)")
    }
}

/// Decodes and validates one payment event (one Kafka message or one line of a file source).
///
/// The rules are SPEC section 2's, checked on the raw bytes without Foundation and without allocating
/// beyond the payment's own strings. Where the SPEC leaves room, these choices hold:
/// - The record must be one JSON object, optionally surrounded by whitespace (a trailing `\r` included);
///   anything else after it is "trailing data". A record that starts with another JSON value (an array, a
///   string...) is "not a JSON object", whatever follows that value. Unknown fields are skipped whatever their
///   type, though they must still be valid JSON (nesting up to 64 levels).
/// - A duplicate key: the last one wins. `null` for an optional field means absent; for a required field,
///   "missing".
/// - `ts` must be an integer literal: `1.7e12` and `1700000000000.0` are refused even though integral.
/// - `amount` is any finite number, converted to cents exactly from its decimal digits and rounded half
///   away from zero; 1e16 or more is out of range (`numeric(18,2)`), and a value that rounds to 0 cents
///   (`0.001`) is refused as not > 0.
/// - `currency` is exactly 3 and `country` exactly 2 uppercase ASCII letters (`A`-`Z`); lowercase is refused.
/// - `event_id`, `customer_id` and `merchant_id` must be non-empty strings; `device_id` and
///   `beneficiary_id` may be any string, empty included. A transfer without `beneficiary_id` is accepted.
/// - Strings may use every JSON escape, `\u` surrogate pairs included; invalid UTF-8 and lone surrogates
///   are invalid JSON.
/// - When several rules are broken, the reason names the first, in the SPEC's field order.
public enum PaymentDecoding {
    /// Decodes one record held in raw bytes.
    public static func decode(_ line: UnsafeRawBufferPointer) -> Result<Payment, PaymentRejection> {
        do throws(PaymentRejection) {
            return .success(try payment(from: line))
        } catch {
            return .failure(error)
        }
    }

    /// Decodes one record held in raw bytes, throwing the reason it is rejected.
    public static func payment(from line: UnsafeRawBufferPointer) throws(PaymentRejection) -> Payment {
        if let payment = CanonicalPayment.payment(from: line) { return payment }
        return try general(line)
    }

    /// Decodes any record, the fast path's misses: every rule, every reason.
    static func general(_ line: UnsafeRawBufferPointer) throws(PaymentRejection) -> Payment {
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        guard !scanner.isAtEnd else { throw .emptyRecord }
        guard scanner.byte(scanner.position) == UInt8(ascii: "{") else {
            do throws(JSONSyntaxError) {
                _ = try scanner.scanValue(depth: 0)
            } catch {
                throw .invalidJSON(error)
            }
            throw .notAnObject
        }
        // One span per field, on the stack. `withUnsafeTemporaryAllocation` passed a thrown rejection out
        // through a `Result` and copied the payment on the way, three times.
        var storage = InlineArray<13, JSONSpan>(repeating: .absent)
        return try withUnsafeMutablePointer(to: &storage) { pointer throws(PaymentRejection) -> Payment in
            let spans = UnsafeMutableBufferPointer(
                start: UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: JSONSpan.self),
                count: PaymentField.count)
            do throws(JSONSyntaxError) {
                try scanObject(&scanner, into: spans)
            } catch {
                throw .invalidJSON(error)
            }
            scanner.skipWhitespace()
            guard scanner.isAtEnd else {
                throw PaymentRejection(reason: "trailing data after JSON object at byte \(scanner.position)")
            }
            return try PaymentFields(input: line, spans: spans).payment()
        }
    }

    /// Decodes one record held in a string.
    public static func decode(_ line: String) -> Result<Payment, PaymentRejection> {
        var line = line
        return line.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes one record held in an array of bytes.
    public static func decode(_ line: [UInt8]) -> Result<Payment, PaymentRejection> {
        line.withUnsafeBytes { decode($0) }
    }

    /// Scans the object whose `{` is at the scanner's position, recording the span of each known field.
    private static func scanObject(
        _ scanner: inout JSONScanner, into spans: UnsafeMutableBufferPointer<JSONSpan>
    ) throws(JSONSyntaxError) {
        scanner.position += 1
        scanner.skipWhitespace()
        if try scanner.current() == UInt8(ascii: "}") {
            scanner.position += 1
            return
        }
        var first = true
        // The field expected next: writers put the fields in the SPEC's order (ours do), so the key is first
        // compared, quotes included, with the expected one's; only a miss scans it as a string and looks it up.
        var expected = 0
        // Read once: each access to a global costs a `swift_once` call on Linux, and this loop runs per key.
        let quotedKeys = PaymentField.quotedKeys
        while true {
            guard try scanner.current() == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(
                    offset: scanner.position, message: first ? "expected '\"' or '}'" : "expected '\"'")
            }
            first = false
            let field: PaymentField?
            if expected < PaymentField.count,
                case let key = quotedKeys[expected], key.matches(scanner.input, at: scanner.position)
            {
                field = PaymentField(rawValue: expected)
                scanner.position += key.count
            } else {
                let keyStart = scanner.position + 1
                let escaped = try scanner.scanString()
                let keyCount = scanner.position - 1 - keyStart
                field =
                    escaped
                    ? fieldOfEscapedKey(UnsafeRawBufferPointer(rebasing: scanner.input[keyStart..<keyStart + keyCount]))
                    : PaymentField.find(in: scanner.input, start: keyStart, count: keyCount)
            }
            if let field { expected = field.rawValue + 1 }
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: ":"), "expected ':'")
            scanner.skipWhitespace()
            let span = try scanner.scanValue(depth: 1)
            if let field { spans[field.rawValue] = span }
            scanner.skipWhitespace()
            let next = try scanner.current()
            if next == UInt8(ascii: "}") {
                scanner.position += 1
                return
            }
            guard next == UInt8(ascii: ",") else {
                throw JSONSyntaxError(offset: scanner.position, message: "expected ',' or '}'")
            }
            scanner.position += 1
            scanner.skipWhitespace()
        }
    }

    /// A key written with escapes (`"\u0074s"` is `ts`): rare, so it may take the long way.
    private static func fieldOfEscapedKey(_ key: UnsafeRawBufferPointer) -> PaymentField? {
        withUnsafeTemporaryAllocation(byteCount: key.count, alignment: 1) { buffer in
            let count = JSONText.unescape(key, into: buffer)
            return PaymentField(key: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }
}
