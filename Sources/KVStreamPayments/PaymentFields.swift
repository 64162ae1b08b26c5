/// The known fields of one record, as spans into its bytes, turned into a ``Payment`` by applying the rules.
///
/// Rules are checked in the SPEC's field order so that a record breaking several always gets the same reason.
struct PaymentFields {
    let input: UnsafeRawBufferPointer
    let spans: UnsafeMutableBufferPointer<JSONSpan>

    static let serviceRule = "must be one of card_payment, transfer, withdrawal, deposit, bill_payment, airtime"
    static let channelRule = "must be one of web, mobile, pos, api, agent"

    @inline(__always)
    func payment() throws(PaymentRejection) -> Payment {
        let eventId = try nonEmptyString(.eventId)
        let ts = try timestamp()
        let customerId = try nonEmptyString(.customerId)
        let merchantId = try nonEmptyString(.merchantId)
        let service = try required(.service, Service.init(bytes:), rule: Self.serviceRule)
        let amountCents = try cents()
        let currency = try letters(.currency, count: 3)
        let channel = try required(.channel, Channel.init(bytes:), rule: Self.channelRule)
        let country = try letters(.country, count: 2)
        let lat = try coordinate(.lat)
        let lon = try coordinate(.lon)
        if (lat == nil) != (lon == nil) {
            throw PaymentRejection(reason: "fields 'lat' and 'lon' must be given together")
        }
        if let value = lat, !(value >= -90 && value <= 90) { throw .field(.lat, "out of range [-90, 90]") }
        if let value = lon, !(value >= -180 && value <= 180) { throw .field(.lon, "out of range [-180, 180]") }
        let deviceId = try optionalString(.deviceId)
        let beneficiaryId = try optionalString(.beneficiaryId)
        return Payment(
            eventId: eventId, ts: ts, customerId: customerId, merchantId: merchantId, service: service,
            amountCents: amountCents, currency: currency, channel: channel, country: country, lat: lat, lon: lon,
            deviceId: deviceId, beneficiaryId: beneficiaryId
        )
    }

    @inline(__always)
    private func span(_ field: PaymentField) -> JSONSpan { spans[field.rawValue] }

    @inline(__always)
    private func bytes(_ span: JSONSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: input[span.start..<span.end])
    }

    /// Runs `body` over the unescaped UTF-8 of a string span.
    @inline(__always)
    private func withContent<T>(_ span: JSONSpan, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        guard span.flag else { return body(bytes(span)) }
        return withUnsafeTemporaryAllocation(byteCount: span.end - span.start, alignment: 1) { buffer in
            let count = JSONText.unescape(bytes(span), into: buffer)
            return body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private func nonEmptyString(_ field: PaymentField) throws(PaymentRejection) -> String {
        let span = span(field)
        guard span.kind != .absent else { throw .missing(field) }
        // Escapes always produce at least one byte, so an empty span is the only empty string.
        guard span.kind == .string && span.end > span.start else { throw .field(field, "must be a non-empty string") }
        return JSONText.string(bytes(span), escaped: span.flag)
    }

    private func optionalString(_ field: PaymentField) throws(PaymentRejection) -> String? {
        let span = span(field)
        switch span.kind {
        case .absent: return nil
        case .string: return JSONText.string(bytes(span), escaped: span.flag)
        default: throw .field(field, "must be a string")
        }
    }

    private func timestamp() throws(PaymentRejection) -> Int64 {
        let span = span(.ts)
        guard span.kind != .absent else { throw .missing(.ts) }
        guard span.kind == .number && !span.flag else { throw .field(.ts, "must be an integer") }
        let literal = bytes(span)
        guard literal[0] != UInt8(ascii: "-") else { throw .field(.ts, "must be > 0") }
        guard let value = JSONNumber.int64(literal) else { throw .field(.ts, "out of range") }
        guard value > 0 else { throw .field(.ts, "must be > 0") }
        return value
    }

    private func cents() throws(PaymentRejection) -> Int64 {
        let span = span(.amount)
        guard span.kind != .absent else { throw .missing(.amount) }
        guard span.kind == .number else { throw .field(.amount, "must be a number") }
        switch JSONNumber.cents(bytes(span)) {
        case .cents(let cents): return cents
        case .notPositive: throw .field(.amount, "must be > 0")
        case .outOfRange: throw .field(.amount, "out of range")
        case .notFinite: throw .field(.amount, "must be finite")
        }
    }

    /// A required string that must spell one of a few names.
    private func required<T>(
        _ field: PaymentField, _ match: (UnsafeRawBufferPointer) -> T?, rule: String
    ) throws(PaymentRejection) -> T {
        let span = span(field)
        guard span.kind != .absent else { throw .missing(field) }
        guard span.kind == .string, let value = withContent(span, match) else { throw .field(field, rule) }
        return value
    }

    /// A required string of exactly `count` uppercase ASCII letters, taken from ``LetterCodes`` (every code
    /// of that length is made once, not once per record).
    private func letters(_ field: PaymentField, count: Int) throws(PaymentRejection) -> String {
        let span = span(field)
        guard span.kind != .absent else { throw .missing(field) }
        let value: String? =
            span.kind != .string
            ? nil
            : withContent(span) { content in
                guard content.count == count else { return nil }
                var index = 0
                for byte in content {
                    let letter = byte &- UInt8(ascii: "A")
                    guard letter < 26 else { return nil }
                    index = index * 26 + Int(letter)
                }
                return count == 2 ? LetterCodes.twoLetters[index] : LetterCodes.threeLetters[index]
            }
        guard let value else { throw .field(field, "must be \(count) uppercase letters") }
        return value
    }

    private func coordinate(_ field: PaymentField) throws(PaymentRejection) -> Double? {
        let span = span(field)
        switch span.kind {
        case .absent: return nil
        case .number: return JSONNumber.double(bytes(span))
        default: throw .field(field, "must be a number")
        }
    }
}

extension PaymentRejection {
    static func missing(_ field: PaymentField) -> PaymentRejection {
        PaymentRejection(reason: "missing field '\(field.nameString)'")
    }
}

/// Every code of two or three uppercase letters (countries, currencies), indexed in base 26: a record's codes are
/// looked up rather than made into new strings (~15 ns each). 18,252 small strings, 285 KB, made on first use.
enum LetterCodes {
    static let twoLetters: [String] = codes(length: 2)
    static let threeLetters: [String] = codes(length: 3)

    private static func codes(length: Int) -> [String] {
        let count = length == 2 ? 26 * 26 : 26 * 26 * 26
        return (0..<count).map { index in
            var letters: [UInt8] = []
            var rest = index
            for _ in 0..<length {
                letters.append(UInt8(ascii: "A") + UInt8(rest % 26))
                rest /= 26
            }
            return String(decoding: letters.reversed(), as: UTF8.self)
        }
    }
}
