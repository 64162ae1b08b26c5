/// The decoder's fast path: one pass over a record written the usual way, straight into a ``Payment``.
///
/// "The usual way" is how our generator and most producers write payments: one object, its keys unescaped and in
/// the SPEC's order (the optional ones may be left out), string values without escapes and in ASCII, numbers
/// without an exponent, optional spaces after `:` and `,`. Such a record is read field by field, each key
/// compared in two word loads and each value converted as it is scanned, with no spans to record and no second
/// pass. Anything else, valid or not (another key order, an unknown key, an escape, `null`, a value a rule
/// refuses...), makes ``payment(from:)`` return nil, and ``PaymentDecoding`` decodes the record the general way
/// from its start. The fast path therefore never decides a rejection, and what it accepts it converts with the
/// general path's own functions (``SmallASCII``, ``JSONNumber``, `Service(bytes:)`...): both give the same
/// payment, which `CanonicalPaymentTests` checks over generated, reordered and damaged records.
enum CanonicalPayment {
    /// The payment in `line`, or nil when the record is not in the usual form (or is invalid).
    @inline(__always)
    static func payment(from line: UnsafeRawBufferPointer) -> Payment? {
        var reader = Reader(input: line, inline: SmallASCII.isSupported)
        return reader.payment(keys: PaymentField.quotedKeys)
    }

    struct Reader {
        let input: UnsafeRawBufferPointer
        let inline: Bool
        var position = 0

        init(input: UnsafeRawBufferPointer, inline: Bool) {
            self.input = input
            self.inline = inline
        }

        @inline(__always)
        mutating func payment(keys: [PackedKey]) -> Payment? {
            guard next(UInt8(ascii: "{")) else { return nil }
            guard key(keys[0]), let eventId = string(nonEmpty: true), next(UInt8(ascii: ",")),
                key(keys[1]), let ts = timestamp(), next(UInt8(ascii: ",")),
                key(keys[2]), let customerId = string(nonEmpty: true), next(UInt8(ascii: ",")),
                key(keys[3]), let merchantId = string(nonEmpty: true), next(UInt8(ascii: ",")),
                key(keys[4]), let service = name(Service.init(bytes:)), next(UInt8(ascii: ",")),
                key(keys[5]), let amountCents = cents(), next(UInt8(ascii: ",")),
                key(keys[6]), let currency = letters(3), next(UInt8(ascii: ",")),
                key(keys[7]), let channel = name(Channel.init(bytes:)), next(UInt8(ascii: ",")),
                key(keys[8]), let country = letters(2)
            else { return nil }
            var lat: Double?
            var lon: Double?
            var deviceId: String?
            var beneficiaryId: String?
            // The optional fields, each present or not, in order; then the end of the object.
            var field = PaymentField.lat.rawValue
            while !next(UInt8(ascii: "}")) {
                guard next(UInt8(ascii: ",")) else { return nil }
                while field < PaymentField.count && !key(keys[field]) { field += 1 }
                switch field {
                case PaymentField.lat.rawValue:
                    guard let value = number(), value >= -90 && value <= 90 else { return nil }
                    lat = value
                case PaymentField.lon.rawValue:
                    guard let value = number(), value >= -180 && value <= 180 else { return nil }
                    lon = value
                case PaymentField.deviceId.rawValue:
                    guard let value = string(nonEmpty: false) else { return nil }
                    deviceId = value
                case PaymentField.beneficiaryId.rawValue:
                    guard let value = string(nonEmpty: false) else { return nil }
                    beneficiaryId = value
                default:
                    return nil
                }
                field += 1
            }
            guard (lat == nil) == (lon == nil) && atEnd() else { return nil }
            return Payment(
                eventId: eventId, ts: ts, customerId: customerId, merchantId: merchantId, service: service,
                amountCents: amountCents, currency: currency, channel: channel, country: country, lat: lat, lon: lon,
                deviceId: deviceId, beneficiaryId: beneficiaryId)
        }

        /// Skips `byte`, and the spaces after it, if it is the next byte.
        @inline(__always)
        mutating func next(_ byte: UInt8) -> Bool {
            guard position < input.count && input[position] == byte else { return false }
            position += 1
            while position < input.count && input[position] == UInt8(ascii: " ") { position += 1 }
            return true
        }

        /// Skips a quoted key and the `:` after it if they are next.
        @inline(__always)
        mutating func key(_ key: PackedKey) -> Bool {
            guard key.matches(input, at: position) || key.matchesNearEnd(input, at: position) else { return false }
            position += key.count
            return next(UInt8(ascii: ":"))
        }

        /// Whether only whitespace remains.
        @inline(__always)
        func atEnd() -> Bool {
            var scanner = JSONScanner(input)
            scanner.position = position
            scanner.skipWhitespace()
            return scanner.isAtEnd
        }

        /// The content's bounds of a string without escapes, control characters or non-ASCII bytes, skipped.
        @inline(__always)
        mutating func plainString() -> (start: Int, count: Int)? {
            guard position < input.count && input[position] == UInt8(ascii: "\"") else { return nil }
            let start = position + 1
            var index = JSONScanner.skipPlainWords(input, from: start)
            while index < input.count, case let byte = input[index], byte != UInt8(ascii: "\"") {
                guard byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            guard index < input.count else { return nil }
            position = index + 1
            return (start, index - start)
        }

        @inline(__always)
        mutating func string(nonEmpty: Bool) -> String? {
            guard let (start, count) = plainString(), !nonEmpty || count > 0 else { return nil }
            return SmallASCII.text(input, start: start, count: count, inline: inline)
        }

        @inline(__always)
        mutating func name<T>(_ match: (UnsafeRawBufferPointer) -> T?) -> T? {
            guard let (start, count) = plainString() else { return nil }
            return match(UnsafeRawBufferPointer(rebasing: input[start..<start + count]))
        }

        @inline(__always)
        mutating func letters(_ length: Int) -> String? {
            guard let (start, count) = plainString(), count == length else { return nil }
            for index in start..<start + count where input[index] &- UInt8(ascii: "A") >= 26 { return nil }
            return SmallASCII.text(input, start: start, count: count, inline: inline)
        }

        /// A positive integer of at most 18 digits, converted as it is read.
        @inline(__always)
        mutating func timestamp() -> Int64? {
            let start = position
            var value: Int64 = 0
            while position < input.count, case let digit = input[position] &- UInt8(ascii: "0"), digit < 10 {
                value = value &* 10 &+ Int64(digit)
                position += 1
            }
            let count = position - start
            guard count > 0 && count <= 18 && input[start] != UInt8(ascii: "0") else { return nil }
            return value
        }

        /// The bounds of a number `-?(0|[1-9][0-9]*)(\.[0-9]+)?` (no exponent), skipped.
        @inline(__always)
        mutating func numberLiteral() -> UnsafeRawBufferPointer? {
            let start = position
            if position < input.count && input[position] == UInt8(ascii: "-") { position += 1 }
            let integer = position
            skipDigits()
            guard position > integer, input[integer] != UInt8(ascii: "0") || position == integer + 1 else { return nil }
            if position < input.count && input[position] == UInt8(ascii: ".") {
                position += 1
                let fraction = position
                skipDigits()
                guard position > fraction else { return nil }
            }
            guard position < input.count, input[position] | 0x20 != UInt8(ascii: "e") else { return nil }
            return UnsafeRawBufferPointer(rebasing: input[start..<position])
        }

        @inline(__always)
        mutating func skipDigits() {
            while position < input.count && input[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        }

        @inline(__always)
        mutating func cents() -> Int64? {
            guard let literal = numberLiteral(), case .cents(let cents) = JSONNumber.cents(literal) else { return nil }
            return cents
        }

        @inline(__always)
        mutating func number() -> Double? {
            guard let literal = numberLiteral() else { return nil }
            return JSONNumber.double(literal)
        }
    }
}
