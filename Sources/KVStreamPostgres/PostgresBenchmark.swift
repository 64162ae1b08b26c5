import Foundation
import KVStream

/// Measures the sink against a plain COPY of the same rows, for `make bench` (the sink's own code paths, with
/// nothing mocked).
public enum PostgresBenchmark {
    /// Rows per second: the sink (COPY into staging, then the commit's merge transaction) and a plain COPY of the
    /// same rows into a table of the same shape and primary key. Both include encoding the rows as COPY text.
    public static func run<R: SinkRow>(url: String, rows: [R], table: String) throws -> (sink: Double, copy: Double) {
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
        let writer = PostgresWriter(endpoint: endpoint, tables: tables, sink: "bench", instance: "0", metrics: JobMetrics())
        var i = 0
        while i < rows.count {
            try writer.write(Array(rows[i..<min(rows.count, i + BatchSize.default)]))
            i += BatchSize.default
        }
        for case .external(_, let fields) in try writer.prepareCommit(checkpointID: 1) { try committer.commit(fields) }
        let sinkSeconds = Double(Clock.monotonicNanos() - start) / 1e9

        start = Clock.monotonicNanos()
        var encoder = CopyRowEncoder()
        for row in rows {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow(extra: [])
        }
        let data = encoder.buffer
        let sql = "COPY \(plain.target) (\(plain.columnList)) FROM STDIN"
        try setup.withRetry("plain COPY") { conn throws(PostgresError) in try PGConnection.copy(conn, sql, data: data) }
        let copySeconds = Double(Clock.monotonicNanos() - start) / 1e9
        try setup.withRetry("bench cleanup") { conn throws(PostgresError) in
            try PGConnection.exec(conn, "DROP SCHEMA \(quoted(schema)) CASCADE")
        }
        return (Double(rows.count) / sinkSeconds, Double(rows.count) / copySeconds)
    }
}
