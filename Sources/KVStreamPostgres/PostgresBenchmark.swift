import Foundation
import KVStream

/// Measures the sink against a plain COPY of the same rows, for `make bench` (the sink's own code paths, with
/// nothing mocked).
public enum PostgresBenchmark {
    /// Rows per second: the sink (staging the rows of each checkpoint, then each checkpoint's commit transaction),
    /// and a plain COPY of `baseline` into a table of the same shape and primary key. Both include encoding the rows
    /// as COPY text. `restarts`: a new writer for each checkpoint, as after a restart (it knows no key written
    /// before). Fails unless the sink's table ends with `expectedRows` rows.
    public static func run<R: SinkRow>(
        url: String, checkpoints: [[R]], baseline: [R], table: String, restarts: Bool = false, expectedRows: Int
    ) throws -> (sink: Double, copy: Double) {
        let endpoint = try PostgresEndpoint(url: url, password: ProcessInfo.processInfo.environment["KVSTREAM_PG_PASSWORD"])
        let schema = "kvstream_bench"
        let tables = PostgresTables(schema: schema, table: table, columns: R.schema)
        let plain = PostgresTables(schema: schema, table: table + "_plain", columns: R.schema)
        let setup = PGConnection(endpoint: endpoint)
        try setup.withRetry("bench setup") { conn throws(PostgresError) in
            try PGConnection.exec(conn, "DROP SCHEMA IF EXISTS \(quoted(schema)) CASCADE")
        }
        let committer = PostgresCommitter(endpoint: endpoint, schema: schema, sink: "bench")
        try committer.ensureTables(tables)
        try setup.withRetry("bench setup") { conn throws(PostgresError) in try PGConnection.exec(conn, plain.createTarget) }

        var start = Clock.monotonicNanos()
        var writer: PostgresWriter?
        for (n, rows) in checkpoints.enumerated() {
            if writer == nil || restarts {
                writer = PostgresWriter(endpoint: endpoint, tables: tables, sink: "bench", instance: "0", metrics: JobMetrics())
            }
            var i = 0
            while i < rows.count {
                try writer!.write(Array(rows[i..<min(rows.count, i + BatchSize.default)]))
                i += BatchSize.default
            }
            for case .external(_, let fields) in try writer!.prepareCommit(checkpointID: Int64(n + 1)) {
                try committer.commit(fields)
            }
        }
        let sinkSeconds = Double(Clock.monotonicNanos() - start) / 1e9

        start = Clock.monotonicNanos()
        var encoder = CopyRowEncoder()
        for row in baseline {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow()
        }
        let data = encoder.buffer
        let sql = "COPY \(plain.target) (\(plain.columnList)) FROM STDIN"
        try setup.withRetry("plain COPY") { conn throws(PostgresError) in try PGConnection.copy(conn, sql, data: data) }
        let copySeconds = Double(Clock.monotonicNanos() - start) / 1e9

        let counted = try setup.withRetry("bench check") { conn throws(PostgresError) in
            try PGConnection.query(conn, "SELECT count(*) FROM \(tables.target)", [String]())
        }
        try setup.withRetry("bench cleanup") { conn throws(PostgresError) in
            try PGConnection.exec(conn, "DROP SCHEMA \(quoted(schema)) CASCADE")
        }
        guard counted.first?.first == String(expectedRows) else {
            throw ConnectorError("the sink's table holds \(counted.first?.first.flatMap { $0 } ?? "?") rows, not \(expectedRows)")
        }
        let rows = checkpoints.reduce(0) { $0 + $1.count }
        return (Double(rows) / sinkSeconds, Double(baseline.count) / copySeconds)
    }
}
