import Foundation
import KVStream
import KVStreamPostgres

/// A row of `sales_per_minute`'s shape (an upsert table with a three-column key).
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

/// A row of `fraud_alerts`' shape (an append table keyed by alert id, with an array and a JSON column).
struct AlertShapedRow: SinkRow {
    var id: Int

    static let schema = TableSchema(
        columns: [
            Column("alert_id", .string), Column("event_id", .string), Column("customer_id", .string),
            Column("merchant_id", .string), Column("event_time", .timestamp),
            Column("amount", .decimal(precision: 18, scale: 2)), Column("country", .string),
            Column("channel", .string), Column("rules", .stringArray), Column("score", .double, nullable: true),
            Column("details", .json), Column("detected_at", .timestamp),
        ],
        primaryKey: ["alert_id"], mode: .append)

    func encode<E: RowEncoder>(to encoder: inout E) {
        let event = "evt-\(id)"
        encoder.string(event)
        encoder.string(event)
        encoder.string("cust-\(id % 100_000)")
        encoder.string("m-\(id % 5_000)")
        encoder.timestamp(1_795_000_000_000 + Int64(id) * 10)
        encoder.decimal(Int64(id % 100_000) * 7, scale: 2)
        encoder.string("FR")
        encoder.string("web")
        encoder.stringArray(id % 3 == 0 ? ["velocity", "amount_spike"] : ["velocity"])
        encoder.double(id % 2 == 0 ? Double(id % 1000) / 1000 : nil)
        encoder.json(#"{"window":"5m","count":\#(id % 17)}"#)
        encoder.timestamp(1_795_000_000_500 + Int64(id) * 10)
    }
}

extension Bench {
    /// The PostgreSQL sink (staging, then each checkpoint's commit transaction) beside a plain COPY of the same rows,
    /// against the server at `BENCH_PG_URL` (`make bench` starts one on loopback). Each line runs BENCH_REPEATS (3)
    /// times, sink and COPY one after the other, and reports the run whose ratio is the median.
    static func postgres() throws {
        guard let url = ProcessInfo.processInfo.environment["BENCH_PG_URL"] else {
            print("postgres: skipped (BENCH_PG_URL is not set; make bench starts a server)")
            return
        }
        let count = Int(ProcessInfo.processInfo.environment["BENCH_PG_ROWS"] ?? "") ?? 1_000_000
        let repeats = Int(ProcessInfo.processInfo.environment["BENCH_REPEATS"] ?? "") ?? 3
        let channels = ["web", "mobile", "pos", "api", "agent"]
        var rows: [SalesShapedRow] = []
        rows.reserveCapacity(count)
        for i in 0..<count {
            let country = "C" + String(i % 1000 / 5)
            rows.append(SalesShapedRow(minute: Int64(i / 1000), channel: channels[i % 5], country: country,
                                       count: Int64(i % 97), sum: Int64(i) * 125))
        }
        func median<R: SinkRow>(
            _ checkpoints: [[R]], baseline: [R], table: String, restarts: Bool = false, expectedRows: Int
        ) throws -> (sink: Double, copy: Double) {
            var runs: [(sink: Double, copy: Double)] = []
            for _ in 0..<repeats {
                runs.append(try PostgresBenchmark.run(url: url, checkpoints: checkpoints, baseline: baseline, table: table,
                                                      restarts: restarts, expectedRows: expectedRows))
            }
            return runs.sorted { $0.sink / $0.copy < $1.sink / $1.copy }[runs.count / 2]
        }

        var run = try median([rows], baseline: rows, table: "sales_per_minute", expectedRows: count)
        report("postgres sink, \(count) upserted rows of sales_per_minute's shape, one checkpoint", rate: run.sink,
               baseline: run.copy, baselineName: "plain COPY")

        // 90% new keys, then the other 10% of the rows update keys of the first checkpoint: they are merged.
        let updates = count / 10
        var later = Array(rows[0..<updates])
        for i in later.indices { later[i].count += 1 }
        let twoCheckpoints = [Array(rows[0..<(count - updates)]), later]
        run = try median(twoCheckpoints, baseline: rows, table: "sales_per_minute", expectedRows: count - updates)
        report("postgres sink, \(count - updates) new rows then \(updates) updates of them in a second checkpoint",
               rate: run.sink, baseline: run.copy, baselineName: "plain COPY of \(count) rows")
        run = try median(twoCheckpoints, baseline: rows, table: "sales_per_minute", restarts: true,
                         expectedRows: count - updates)
        report("postgres sink, the same with a restart between the checkpoints (updates meet unique violations)",
               rate: run.sink, baseline: run.copy, baselineName: "plain COPY of \(count) rows")

        let alerts = (0..<count).map(AlertShapedRow.init)
        run = try median([alerts], baseline: alerts, table: "fraud_alerts", expectedRows: count)
        report("postgres sink, \(count) appended rows of fraud_alerts' shape, one checkpoint", rate: run.sink,
               baseline: run.copy, baselineName: "plain COPY")
    }
}
