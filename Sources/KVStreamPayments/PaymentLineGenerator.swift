/// One line of a generated payment file or one message of a generated topic.
public enum GeneratedLine: Sendable, Hashable {
    case valid(Payment)
    /// A line the decoder rejects, with the exact reason `PaymentDecoding.decode(_:)` gives for it.
    case invalid(raw: String, reason: String)

    /// The text to write: the payment's JSON, or the invalid line (never with an embedded newline).
    public var text: String {
        switch self {
        case .valid(let payment): payment.jsonLine
        case .invalid(let raw, _): raw
        }
    }
}

/// Payments as lines, with a share of invalid lines mixed in (`invalidRatio`), for testing dead-letter paths.
///
/// Invalid lines are *inserted between* valid events; they never replace one. The valid lines are therefore
/// exactly ``PaymentGenerator``'s sequence whatever `invalidRatio` is, so results computed over the valid
/// events do not change when invalid lines are added. Whether a line is invalid, and how, is drawn from a
/// stream of its own, so the same configuration always gives the same lines. About `invalidRatio` of all
/// lines are invalid.
///
/// Each invalid line breaks one rule of a valid-looking payment (the kinds are in ``InvalidKind``), carries
/// an event id of its own (`x0042-000000017`), and is a single line.
public struct PaymentLineGenerator: Sendable {
    /// The valid events; its ``PaymentGenerator/nextIndex`` counts the valid lines produced so far.
    public var generator: PaymentGenerator
    /// How many invalid lines have been produced so far.
    public var invalidCount: UInt64 = 0
    private var random: SplitMix64

    /// The ways a generated line can be invalid.
    enum InvalidKind: CaseIterable {
        case notJSON, truncated, missingField, negativeAmount, unknownService, longCurrency, latWithoutLon,
            tsAsString, emptyCustomerId, array, lowercaseCountry, latOutOfRange, trailingData
    }

    /// - Precondition: `config.problem == nil`.
    public init(config: PaymentGeneratorConfig) {
        generator = PaymentGenerator(config: config)
        random = SplitMix64(seed: config.seed, stream: PaymentWorld.Stream.invalidLine.rawValue, index: 0)
    }

    /// The next line.
    public mutating func next() -> GeneratedLine {
        guard random.nextUnit() < generator.config.invalidRatio else { return .valid(generator.next()) }
        defer { invalidCount += 1 }
        let kinds = InvalidKind.allCases
        return invalidLine(kinds[random.nextInt(below: kinds.count)])
    }

    /// An invalid line of the given kind, shaped like the next valid event but with its own event id.
    mutating func invalidLine(_ kind: InvalidKind) -> GeneratedLine {
        var payment = generator.payment(at: generator.nextIndex)
        payment.eventId = Identifier.make(
            "x", generator.seedTag, width: 4, then: Int(truncatingIfNeeded: invalidCount), width: 9)
        var override: PaymentEncoding.Override?
        let reason: String
        switch kind {
        case .notJSON:
            // A record from a system that speaks CSV.
            let line = "PAYMENT;\(payment.eventId);\(payment.customerId);\(payment.ts)"
            return .invalid(raw: line, reason: "invalid JSON at byte 0: expected a value")
        case .truncated:
            let bytes = Self.encode(payment, override: nil)
            let cut = 1 + random.nextInt(below: bytes.count - 1)
            return .invalid(
                raw: String(decoding: bytes[..<cut], as: UTF8.self),
                reason: "invalid JSON at byte \(cut): unexpected end of input"
            )
        case .missingField:
            let required: [PaymentField] = [
                .eventId, .ts, .customerId, .merchantId, .service, .amount, .currency, .channel, .country,
            ]
            let field = required[random.nextInt(below: required.count)]
            override = PaymentEncoding.Override(field: field, raw: nil)
            reason = "missing field '\(field.nameString)'"
        case .negativeAmount:
            payment.amountCents = -payment.amountCents
            reason = "field 'amount' must be > 0"
        case .unknownService:
            override = PaymentEncoding.Override(field: .service, raw: "\"crypto_swap\"")
            reason = "field 'service' \(PaymentFields.serviceRule)"
        case .longCurrency:
            payment.currency += "X"
            reason = "field 'currency' must be 3 uppercase letters"
        case .latWithoutLon:
            payment.lat = payment.lat ?? 1.5
            payment.lon = nil
            reason = "fields 'lat' and 'lon' must be given together"
        case .tsAsString:
            override = PaymentEncoding.Override(field: .ts, raw: "\"\(payment.ts)\"")
            reason = "field 'ts' must be an integer"
        case .emptyCustomerId:
            payment.customerId = ""
            reason = "field 'customer_id' must be a non-empty string"
        case .array:
            let bytes = Self.encode(payment, override: nil)
            return .invalid(raw: "[" + String(decoding: bytes, as: UTF8.self) + "]", reason: "not a JSON object")
        case .lowercaseCountry:
            payment.country = payment.country.lowercased()
            reason = "field 'country' must be 2 uppercase letters"
        case .latOutOfRange:
            payment.lat = 91.5
            payment.lon = payment.lon ?? 0.5
            reason = "field 'lat' out of range [-90, 90]"
        case .trailingData:
            let bytes = Self.encode(payment, override: nil)
            return .invalid(
                raw: String(decoding: bytes, as: UTF8.self) + " {}",
                reason: "trailing data after JSON object at byte \(bytes.count + 1)"
            )
        }
        return .invalid(raw: String(decoding: Self.encode(payment, override: override), as: UTF8.self), reason: reason)
    }

    private static func encode(_ payment: Payment, override: PaymentEncoding.Override?) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(320)
        PaymentEncoding.append(payment, to: &bytes, override: override)
        return bytes
    }
}
