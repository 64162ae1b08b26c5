import KVStream
import KVStreamPayments

/// The key of `sales_per_minute`.
public struct SalesKey: StateKey {
    public var channel: Channel
    public var country: String

    public func encode(to writer: inout BinaryWriter) {
        channel.encode(to: &writer)
        country.encode(to: &writer)
    }

    public init(channel: Channel, country: String) {
        self.channel = channel
        self.country = country
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        channel = try Channel(from: &reader)
        country = try String(from: &reader)
    }
}

/// Count, sum, max and distinct customers of one window and key.
public struct SalesAccumulator: StateValue {
    public var count: Int64 = 0
    public var sumCents: Int128 = 0
    public var maxCents: Int64 = 0
    public var customers: Set<String> = []

    public init() {}

    public func encode(to writer: inout BinaryWriter) {
        count.encode(to: &writer)
        sumCents.encode(to: &writer)
        maxCents.encode(to: &writer)
        customers.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        count = try Int64(from: &reader)
        sumCents = try Int128(from: &reader)
        maxCents = try Int64(from: &reader)
        customers = try Set<String>(from: &reader)
    }
}

public struct SalesAggregate: AggregateFunction {
    public init() {}
    public func createAccumulator() -> SalesAccumulator { SalesAccumulator() }

    public func add(_ payment: Payment, to acc: inout SalesAccumulator) {
        acc.count += 1
        acc.sumCents += Int128(payment.amountCents)
        acc.maxCents = max(acc.maxCents, payment.amountCents)
        acc.customers.insert(payment.customerId)
    }

    public func result(_ acc: SalesAccumulator) -> SalesAccumulator { acc }

    public func merge(_ a: SalesAccumulator, _ b: SalesAccumulator) -> SalesAccumulator {
        var m = a
        m.count += b.count
        m.sumCents += b.sumCents
        m.maxCents = max(a.maxCents, b.maxCents)
        m.customers.formUnion(b.customers)
        return m
    }
}

/// A row of `sales_per_minute` (SPEC section 4).
public struct SalesPerMinuteRow: SinkRow {
    public var windowStart: Int64
    public var channel: Channel
    public var country: String
    public var txCount: Int64
    public var amountSumCents: Int128
    public var amountMaxCents: Int64
    public var uniqueCustomers: Int64
    public var updatedAt: Int64

    public init(key: SalesKey, window: TimeWindow, accumulator acc: SalesAccumulator, updatedAt: Int64) {
        windowStart = window.start
        channel = key.channel
        country = key.country
        txCount = acc.count
        amountSumCents = acc.sumCents
        amountMaxCents = acc.maxCents
        uniqueCustomers = Int64(acc.customers.count)
        self.updatedAt = updatedAt
    }

    public static let schema = TableSchema(
        columns: [
            Column("window_start", .timestamp), Column("channel", .string), Column("country", .string),
            Column("tx_count", .int64), Column("amount_sum", .decimal(precision: 20, scale: 2)),
            Column("amount_max", .decimal(precision: 18, scale: 2)), Column("unique_customers", .int64),
            Column("updated_at", .timestamp),
        ],
        primaryKey: ["window_start", "channel", "country"], mode: .upsert)

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.timestamp(windowStart)
        encoder.string(channel.name)
        encoder.string(country)
        encoder.int64(txCount)
        encoder.decimal(amountSumCents, scale: 2)
        encoder.decimal(amountMaxCents, scale: 2)
        encoder.int64(uniqueCustomers)
        encoder.timestamp(updatedAt)
    }
}
