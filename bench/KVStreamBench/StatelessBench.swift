import KVStream
import KVStreamPayments
import KVStreamTesting

/// (a) A stateless chain: map each payment to a fee, keep the large ones, count and sum them.
enum StatelessBench {
    struct Fee: Sendable {
        var customer: String
        var feeCents: Int64
    }

    struct Totals: Equatable {
        var count: Int64
        var sum: Int64
    }

    @inline(__always)
    static func fee(_ p: Payment) -> Fee { Fee(customer: p.customerId, feeCents: p.amountCents * 15 / 1000 + 10) }

    @inline(__always)
    static func keep(_ f: Fee) -> Bool { f.feeCents >= 50 }

    static func baseline(_ events: [(value: Payment, timestamp: Int64)]) -> Totals {
        var totals = Totals(count: 0, sum: 0)
        for (payment, _) in events {
            let f = fee(payment)
            if keep(f) {
                totals.count += 1
                totals.sum += f.feeCents
            }
        }
        return totals
    }

    static func job(_ events: [(value: Payment, timestamp: Int64)], parallelism: Int) async throws -> Totals {
        let job = JobDefinition(name: "bench-stateless", summary: "") { job in
            job.source("payments", arraySource(events), watermarks: .boundedOutOfOrderness(.seconds(5)))
                .map("fee") { fee($0) }
                .filter("large") { keep($0) }
                .map("row") { FeeRow(feeCents: $0.feeCents) }
                .sink("out", table: "fees")
        }
        let store = try await JobTestHarness.run(
            job, settings: BenchData.topology(parallelism: parallelism, count: events.count), keepRows: false)
        return Totals(count: store.rowCount("fees"), sum: store.columnSums("fees").first ?? 0)
    }
}

struct FeeRow: SinkRow {
    var feeCents: Int64
    static let schema = TableSchema(columns: [Column("fee", .int64)])
    func encode<E: RowEncoder>(to encoder: inout E) { encoder.int64(feeCents) }
}
