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
        // Read once per record: a global's every access costs a `swift_once` call on Linux.
        let inline = SmallASCII.isSupported
        let eventId = try nonEmptyString(.eventId, inline: inline)
        let ts = try timestamp()
        let customerId = try nonEmptyString(.customerId, inline: inline)
        let merchantId = try nonEmptyString(.merchantId, inline: inline)
        let service = try required(.service, Service.init(bytes:), rule: Self.serviceRule)
        let amountCents = try cents()
        let currency = try letters(.currency, count: 3, inline: inline)
        let channel = try required(.channel, Channel.init(bytes:), rule: Self.channelRule)
        let country = try letters(.country, count: 2, inline: inline)
        let lat = try coordinate(.lat)
        let lon = try coordinate(.lon)
        if (lat == nil) != (lon == nil) {
            throw PaymentRejection(reason: "fields 'lat' and 'lon' must be given together")
        }
        if let value = lat, !(value >= -90 && value <= 90) { throw .field(.lat, "out of range [-90, 90]") }
        if let value = lon, !(value >= -180 && value <= 180) { throw .field(.lon, "out of range [-180, 180]") }
        let deviceId = try optionalString(.deviceId, inline: inline)
        let beneficiaryId = try optionalString(.beneficiaryId, inline: inline)
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

    private func nonEmptyString(_ field: PaymentField, inline: Bool) throws(PaymentRejection) -> String {
        let span = span(field)
        guard span.kind != .absent else { throw .missing(field) }
        // Escapes always produce at least one byte, so an empty span is the only empty string.
        guard span.kind == .string && span.end > span.start else { throw .field(field, "must be a non-empty string") }
        return string(span, inline: inline)
    }

    private func optionalString(_ field: PaymentField, inline: Bool) throws(PaymentRejection) -> String? {
        let span = span(field)
        switch span.kind {
        case .absent: return nil
        case .string: return string(span, inline: inline)
        default: throw .field(field, "must be a string")
        }
    }

    /// The text of a string span: short ASCII made in place (``SmallASCII``), anything else the public way.
    @inline(__always)
    private func string(_ span: JSONSpan, inline: Bool) -> String {
        guard span.flag else { return SmallASCII.text(input, start: span.start, count: span.end - span.start, inline: inline) }
        return JSONText.string(bytes(span), escaped: true)
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

    /// A required string of exactly `count` uppercase ASCII letters.
    private func letters(_ field: PaymentField, count: Int, inline: Bool) throws(PaymentRejection) -> String {
        let span = span(field)
        guard span.kind != .absent else { throw .missing(field) }
        let valid =
            span.kind == .string
            && withContent(span) { content in
                content.count == count && content.allSatisfy { $0 &- UInt8(ascii: "A") < 26 }
            }
        guard valid else { throw .field(field, "must be \(count) uppercase letters") }
        return string(span, inline: inline)
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
