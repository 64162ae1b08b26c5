import KVStream
import KVStreamPayments

/// A row of the lake table `rejected` (SPEC section 5): raw text, reason, source, received time.
public struct RejectedRow: SinkRow {
    public var record: RejectedRecord

    public init(_ record: RejectedRecord) { self.record = record }

    /// A rejected record has no valid event time: the day it was received.
    public var partitionTime: Int64? { record.receivedAt }

    public static let schema = TableSchema(columns: [
        Column("raw", .string), Column("reason", .string), Column("source", .string), Column("position", .string),
        Column("received_at", .timestamp),
    ])

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(record.raw)
        encoder.string(record.reason)
        encoder.string(record.source)
        encoder.string(record.position)
        encoder.timestamp(record.receivedAt)
    }
}

/// A row of the lake table `late_events`: a payment an operator dropped as later than the allowed lateness.
public struct LateEventRow: SinkRow {
    public var payment: Payment
    public var operatorName: String
    public var watermark: Int64

    public init(_ late: LateRecord<Payment>) {
        payment = late.value
        operatorName = late.operatorName
        watermark = late.watermark
    }

    public var partitionTime: Int64? { payment.ts }

    public static let schema = TableSchema(columns: [
        Column("event_id", .string), Column("ts", .int64), Column("customer_id", .string),
        Column("merchant_id", .string), Column("service", .string), Column("amount", .decimal(precision: 18, scale: 2)),
        Column("currency", .string), Column("channel", .string), Column("country", .string),
        Column("lat", .double, nullable: true), Column("lon", .double, nullable: true),
        Column("device_id", .string, nullable: true), Column("beneficiary_id", .string, nullable: true),
        Column("operator", .string), Column("watermark", .timestamp),
    ])

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(payment.eventId)
        encoder.int64(payment.ts)
        encoder.string(payment.customerId)
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
        encoder.string(operatorName)
        encoder.timestamp(watermark)
    }
}

extension LateEventRow {
    /// A payment an operator other than a window refused as later than the allowed lateness.
    public init(payment: Payment, operatorName: String, watermark: Int64) {
        self.payment = payment
        self.operatorName = operatorName
        self.watermark = watermark
    }
}
