import KVStream
import KVStreamPayments

/// The key of `daily_client_summary`: a customer and a service.
public struct ClientServiceKey: StateKey {
    public var customerId: String
    public var service: Service

    public init(customerId: String, service: Service) {
        self.customerId = customerId
        self.service = service
    }

    public func encode(to writer: inout BinaryWriter) {
        customerId.encode(to: &writer)
        service.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        customerId = try String(from: &reader)
        service = try Service(from: &reader)
    }
}

/// Count, sum, min and max of the amounts, and the first and last event time, of one day and key.
public struct DailySummary: StateValue, Equatable {
    public var count: Int64 = 0
    public var sumCents: Int128 = 0
    public var minCents: Int64 = .max
    public var maxCents: Int64 = .min
    public var firstTs: Int64 = .max
    public var lastTs: Int64 = .min

    public init() {}

    public func encode(to writer: inout BinaryWriter) {
        count.encode(to: &writer)
        sumCents.encode(to: &writer)
        minCents.encode(to: &writer)
        maxCents.encode(to: &writer)
        firstTs.encode(to: &writer)
        lastTs.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        count = try Int64(from: &reader)
        sumCents = try Int128(from: &reader)
        minCents = try Int64(from: &reader)
        maxCents = try Int64(from: &reader)
        firstTs = try Int64(from: &reader)
        lastTs = try Int64(from: &reader)
    }
}

/// Folds payments into a ``DailySummary``. First and last are by event time (`ts`), not by arrival: a payment
/// that arrives out of order still moves `first_ts` back.
public struct DailySummaryAggregate: AggregateFunction {
    public init() {}
    public func createAccumulator() -> DailySummary { DailySummary() }

    public func add(_ payment: Payment, to acc: inout DailySummary) {
        acc.count += 1
        acc.sumCents += Int128(payment.amountCents)
        acc.minCents = min(acc.minCents, payment.amountCents)
        acc.maxCents = max(acc.maxCents, payment.amountCents)
        acc.firstTs = min(acc.firstTs, payment.ts)
        acc.lastTs = max(acc.lastTs, payment.ts)
    }

    public func result(_ acc: DailySummary) -> DailySummary { acc }

    public func merge(_ a: DailySummary, _ b: DailySummary) -> DailySummary {
        var m = a
        m.count += b.count
        m.sumCents += b.sumCents
        m.minCents = min(a.minCents, b.minCents)
        m.maxCents = max(a.maxCents, b.maxCents)
        m.firstTs = min(a.firstTs, b.firstTs)
        m.lastTs = max(a.lastTs, b.lastTs)
        return m
    }
}

/// A row of `daily_client_summary` (SPEC section 4). Early rows (the day still open) and the final one share
/// the primary key, so the table ends with the final values.
public struct DailyClientSummaryRow: SinkRow {
    /// Days since the epoch (UTC).
    public var day: Int32
    public var customerId: String
    public var service: Service
    public var summary: DailySummary
    public var updatedAt: Int64

    public init(key: ClientServiceKey, window: TimeWindow, summary: DailySummary, updatedAt: Int64) {
        day = Int32(window.start / 86_400_000)
        customerId = key.customerId
        service = key.service
        self.summary = summary
        self.updatedAt = updatedAt
    }

    public static let schema = TableSchema(
        columns: [
            Column("day", .date), Column("customer_id", .string), Column("service", .string),
            Column("tx_count", .int64), Column("amount_sum", .decimal(precision: 20, scale: 2)),
            Column("amount_min", .decimal(precision: 18, scale: 2)),
            Column("amount_max", .decimal(precision: 18, scale: 2)),
            Column("first_ts", .timestamp), Column("last_ts", .timestamp), Column("updated_at", .timestamp),
        ],
        primaryKey: ["day", "customer_id", "service"], mode: .upsert)

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.date(day)
        encoder.string(customerId)
        encoder.string(service.name)
        encoder.int64(summary.count)
        encoder.decimal(summary.sumCents, scale: 2)
        encoder.decimal(summary.minCents, scale: 2)
        encoder.decimal(summary.maxCents, scale: 2)
        encoder.timestamp(summary.firstTs)
        encoder.timestamp(summary.lastTs)
        encoder.timestamp(updatedAt)
    }
}
