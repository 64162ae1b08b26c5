import KVStream
import KVStreamPayments

/// A count and a sum of amounts in cents.
public struct CountSum: StateValue, Equatable {
    public var count: Int64 = 0
    public var sumCents: Int128 = 0

    public init() {}

    public func encode(to writer: inout BinaryWriter) {
        count.encode(to: &writer)
        sumCents.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        count = try Int64(from: &reader)
        sumCents = try Int128(from: &reader)
    }
}

/// Counts payments and sums their amounts.
public struct CountSumAggregate: AggregateFunction {
    public init() {}
    public func createAccumulator() -> CountSum { CountSum() }

    public func add(_ payment: Payment, to acc: inout CountSum) {
        acc.count += 1
        acc.sumCents += Int128(payment.amountCents)
    }

    public func result(_ acc: CountSum) -> CountSum { acc }

    public func merge(_ a: CountSum, _ b: CountSum) -> CountSum {
        var m = a
        m.count += b.count
        m.sumCents += b.sumCents
        return m
    }
}

/// A row of `merchant_activity` (SPEC section 4).
public struct MerchantActivityRow: SinkRow {
    public var merchantId: String
    public var window: TimeWindow
    public var count: Int64
    public var sumCents: Int128
    public var updatedAt: Int64

    public init(merchantId: String, window: TimeWindow, count: Int64, sumCents: Int128, updatedAt: Int64) {
        self.merchantId = merchantId
        self.window = window
        self.count = count
        self.sumCents = sumCents
        self.updatedAt = updatedAt
    }

    public static let schema = TableSchema(
        columns: [
            Column("window_start", .timestamp), Column("window_end", .timestamp), Column("merchant_id", .string),
            Column("tx_count", .int64), Column("amount_sum", .decimal(precision: 20, scale: 2)),
            Column("updated_at", .timestamp),
        ],
        primaryKey: ["window_end", "merchant_id"], mode: .upsert)

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.timestamp(window.start)
        encoder.timestamp(window.end)
        encoder.string(merchantId)
        encoder.int64(count)
        encoder.decimal(sumCents, scale: 2)
        encoder.timestamp(updatedAt)
    }
}
