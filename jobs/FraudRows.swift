import KVStream
import KVStreamPayments

/// One evaluated payment: a row of the lake table `payments_scored` (every valid payment the job evaluated, alert
/// or not), and the source of the `fraud_alerts` row when a rule holds.
///
/// The lake sink pseudonymises `customer_id` (SPEC section 5); `partitionTime` puts the row in the `dt` of its
/// event time.
public struct ScoredPayment: SinkRow, Equatable {
    var payment: PendingPayment
    var customerId: String
    var features: FraudFeatures
    var score: Double
    var detectedAt: Int64

    /// Whether the payment raises an alert: one or more rules hold.
    public var isAlert: Bool { !features.rules.isEmpty }

    public var partitionTime: Int64? { payment.ts }

    public static let schema = TableSchema(columns: [
        Column("event_id", .string), Column("event_time", .timestamp), Column("customer_id", .string),
        Column("merchant_id", .string), Column("service", .string), Column("amount", .decimal(precision: 18, scale: 2)),
        Column("currency", .string), Column("channel", .string), Column("country", .string),
        Column("lat", .double, nullable: true), Column("lon", .double, nullable: true),
        Column("device_id", .string, nullable: true), Column("beneficiary_id", .string, nullable: true),
        Column("rules", .stringArray), Column("alert", .bool), Column("score", .double), Column("features", .json),
        Column("detected_at", .timestamp),
    ])

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(payment.eventId)
        encoder.timestamp(payment.ts)
        encoder.string(customerId)
        encoder.string(payment.merchantId)
        encoder.string(payment.service.name)
        encoder.decimal(payment.amountCents, scale: 2)
        encoder.string(payment.currency)
        encoder.string(payment.channel.name)
        encoder.string(payment.country)
        encoder.double(payment.lat)
        encoder.double(payment.lon)
        encoder.string(payment.deviceId)
        encoder.string(payment.beneficiaryId)
        encoder.stringArray(features.rules.names)
        encoder.bool(isAlert)
        encoder.double(score)
        encoder.json(features.json)
        encoder.timestamp(detectedAt)
    }
}

/// A row of `fraud_alerts` (SPEC section 4): a payment for which one or more rules hold.
public struct FraudAlertRow: SinkRow, Equatable {
    var scored: ScoredPayment

    init(_ scored: ScoredPayment) { self.scored = scored }

    public static let schema = TableSchema(
        columns: [
            Column("alert_id", .string), Column("event_id", .string), Column("customer_id", .string),
            Column("merchant_id", .string), Column("event_time", .timestamp),
            Column("amount", .decimal(precision: 18, scale: 2)), Column("country", .string),
            Column("channel", .string), Column("rules", .stringArray), Column("score", .double),
            Column("details", .json), Column("detected_at", .timestamp),
        ],
        primaryKey: ["alert_id"], mode: .append)

    public func encode<E: RowEncoder>(to encoder: inout E) {
        let payment = scored.payment
        encoder.string(payment.eventId)
        encoder.string(payment.eventId)
        encoder.string(scored.customerId)
        encoder.string(payment.merchantId)
        encoder.timestamp(payment.ts)
        encoder.decimal(payment.amountCents, scale: 2)
        encoder.string(payment.country)
        encoder.string(payment.channel.name)
        encoder.stringArray(scored.features.rules.names)
        encoder.double(scored.score)
        encoder.json(scored.features.json)
        encoder.timestamp(scored.detectedAt)
    }
}
