import KVStream
import KVStreamPayments
import KVStreamTesting

/// (b) keyBy customer + 1-minute tumbling count and sum: the shape of Flink's
/// `SELECT customer_id, window_start, COUNT(*), SUM(amount) FROM TABLE(TUMBLE(...)) GROUP BY ...`.
enum TumblingBench {
    struct Result: Equatable {
        var rows: Int64
        var count: Int64
        var sum: Int64
    }

    struct WindowKey: Hashable {
        var customer: String
        var windowStart: Int64
    }

    static func baseline(_ events: [(value: Payment, timestamp: Int64)]) -> Result {
        // One in-place dictionary update per event: the best a plain loop does.
        var windows: [WindowKey: CountAndSum] = [:]
        for (payment, ts) in events {
            let start = ts - ts % 60_000
            windows[WindowKey(customer: payment.customerId, windowStart: start), default: CountAndSum()]
                .add(payment.amountCents)
        }
        var result = Result(rows: 0, count: 0, sum: 0)
        for (_, v) in windows {
            result.rows += 1
            result.count += v.count
            result.sum += v.sum
        }
        return result
    }

    static func job(
        _ events: [(value: Payment, timestamp: Int64)], parallelism: Int, settings: String? = nil,
        stateStore: StateStoreFactory? = nil
    ) async throws -> Result {
        let job = JobDefinition(name: "bench-tumbling", summary: "") { job in
            job.source("payments", arraySource(events), watermarks: .boundedOutOfOrderness(.seconds(5)))
                .keyBy("customer_id") { $0.customerId }
                .window(TumblingWindows.of(.minutes(1)))
                .aggregate("count-sum", CountSumCents()) { _, _, acc in WindowRow(count: acc.0, sum: acc.1) }
                .sink("out", table: "windows")
        }
        let store = try await JobTestHarness.run(
            job, settings: settings ?? BenchData.topology(parallelism: parallelism, count: events.count),
            stateStore: stateStore, keepRows: false)
        let sums = store.columnSums("windows")
        return Result(rows: store.rowCount("windows"), count: sums.first ?? 0, sum: sums.dropFirst().first ?? 0)
    }
}

struct CountSumCents: AggregateFunction {
    func createAccumulator() -> CountAndSum { CountAndSum() }
    func add(_ p: Payment, to acc: inout CountAndSum) {
        acc.count += 1
        acc.sum += p.amountCents
    }
    func result(_ acc: CountAndSum) -> (Int64, Int64) { (acc.count, acc.sum) }
    func merge(_ a: CountAndSum, _ b: CountAndSum) -> CountAndSum { CountAndSum(count: a.count + b.count, sum: a.sum + b.sum) }
}

struct CountAndSum: StateValue {
    var count: Int64 = 0
    var sum: Int64 = 0
    init() {}
    init(count: Int64, sum: Int64) {
        self.count = count
        self.sum = sum
    }
    func encode(to writer: inout BinaryWriter) {
        count.encode(to: &writer)
        sum.encode(to: &writer)
    }
    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        count = try Int64(from: &reader)
        sum = try Int64(from: &reader)
    }
    mutating func add(_ cents: Int64) {
        count += 1
        sum += cents
    }
}

struct WindowRow: SinkRow {
    var count: Int64
    var sum: Int64
    static let schema = TableSchema(columns: [Column("count", .int64), Column("sum", .int64)])
    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.int64(count)
        encoder.int64(sum)
    }
}
