import Foundation
import KVStream

/// Writes tables to PostgreSQL exactly once (`[sinks.NAME] type = "postgres"`, SPEC section 4).
///
/// Between checkpoints each writer COPYs its rows, in batches, into the staging table `kvstream_stage_<table>`
/// (its rows not yet tied to a checkpoint). At a barrier it tags them with the checkpoint's id. When the
/// checkpoint completes, one transaction merges that checkpoint's staged rows into the table (`INSERT ... ON
/// CONFLICT DO UPDATE` for upsert tables, `DO NOTHING` for append tables; the last row of a key in the checkpoint
/// wins), deletes them from staging, and records the checkpoint in `kvstream_sink_progress`. A replayed commit
/// finds its checkpoint recorded and does nothing. A restart removes staged rows of checkpoints it does not
/// restore. Values only ever travel as COPY data or parameters; identifiers are quoted.
public struct PostgresSinkConnector: SinkConnector {
    public let name: String
    public let endpoint: PostgresEndpoint
    /// The PostgreSQL schema of the tables (`public` unless configured).
    public let schema: String
    private let committer: PostgresCommitter

    /// Reads `[sinks.NAME]`: `url`, `schema`, `password_file` (else the password comes from `KVSTREAM_PG_PASSWORD`,
    /// or none: trust, peer or a `.pgpass`), `retry_timeout` (default 10min).
    public init(name: String, section: Settings) throws(ConfigError) {
        self.name = name
        let url = try section.requireString("url")
        var password = ProcessInfo.processInfo.environment["KVSTREAM_PG_PASSWORD"]
        if let file = try section.string("password_file") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw section.error(at: "password_file", "cannot read \(file)")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        let retry = try section.duration("retry_timeout") ?? .seconds(600)
        do {
            endpoint = try PostgresEndpoint(url: url, password: password, retryFor: retry)
        } catch {
            throw section.error(at: "url", error.reason)
        }
        schema = try section.string("schema") ?? "public"
        committer = PostgresCommitter(endpoint: endpoint, schema: schema, sink: name)
        let committer = self.committer
        CommitHandlers.register(Self.handlerName(name)) { fields in try committer.commit(fields) }
    }

    static func handlerName(_ sink: String) -> String { "postgres:\(sink)" }

    public var type: String { "postgres" }
    public var summary: String { "PostgreSQL \(endpoint.url), schema \(schema)" }
    public func location(table: String) -> String { "\(endpoint.url)/\(schema).\(table)" }

    public func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        let tables = PostgresTables(schema: self.schema, table: table, columns: schema)
        try committer.ensureTables(tables)
        return PostgresWriter(endpoint: endpoint, tables: tables, sink: name, instance: instance, metrics: metrics)
    }

    public func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        try committer.recover(table: table, restoredCheckpoint: restoredCheckpoint, scope: scope)
    }
}

/// The SQL names and statements of one target table and its staging table.
struct PostgresTables: Sendable {
    let schema: String
    let table: String
    let columns: TableSchema

    var target: String { quoted(schema) + "." + quoted(table) }
    static func staging(schema: String, table: String) -> String { quoted(schema) + "." + quoted("kvstream_stage_" + table) }
    var staging: String { Self.staging(schema: schema, table: table) }
    static func progress(schema: String) -> String { quoted(schema) + "." + quoted("kvstream_sink_progress") }
    var columnList: String { columns.columns.map { quoted($0.name) }.joined(separator: ", ") }

    var createTarget: String {
        var parts = columns.columns.map { "\(quoted($0.name)) \($0.type.postgresType)\($0.nullable ? "" : " NOT NULL")" }
        if !columns.primaryKey.isEmpty {
            parts.append("PRIMARY KEY (\(columns.primaryKey.map(quoted).joined(separator: ", ")))")
        }
        return "CREATE TABLE IF NOT EXISTS \(target) (\(parts.joined(separator: ", ")))"
    }

    /// Staged rows: the table's columns (nullable), the writer and the checkpoint they belong to, and their order.
    var createStaging: String {
        let parts = columns.columns.map { "\(quoted($0.name)) \($0.type.postgresType)" }
            + ["_sink text NOT NULL", "_instance text NOT NULL", "_checkpoint bigint", "_seq bigserial"]
        return "CREATE TABLE IF NOT EXISTS \(staging) (\(parts.joined(separator: ", ")));"
            + " CREATE INDEX IF NOT EXISTS \(quoted("kvstream_stage_" + table + "_idx")) ON \(staging) (_sink, _instance, _checkpoint)"
    }

    static func createProgress(schema: String) -> String {
        "CREATE TABLE IF NOT EXISTS \(progress(schema: schema)) (sink text NOT NULL, table_name text NOT NULL, "
            + "instance text NOT NULL, checkpoint bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), "
            + "PRIMARY KEY (sink, table_name, instance))"
    }

    /// What a commit needs to know of the table, recorded in the checkpoint with the commit.
    var commitFields: [String: String] {
        ["schema": schema, "table": table, "columns": columns.columns.map(\.name).joined(separator: ","),
         "key": columns.primaryKey.joined(separator: ","), "mode": columns.mode == .upsert ? "upsert" : "append"]
    }
}

/// Writes one instance's rows into staging.
final class PostgresWriter: SinkWriter {
    private let connection: PGConnection
    private let tables: PostgresTables
    private let sink: String
    private let instance: String
    private var encoder = CopyRowEncoder()
    private let extra: [UInt8]
    private let copySQL: String
    /// Whether rows were staged since the last checkpoint.
    private var staged = false
    private let metrics: JobMetrics

    init(endpoint: PostgresEndpoint, tables: PostgresTables, sink: String, instance: String, metrics: JobMetrics) {
        connection = PGConnection(endpoint: endpoint)
        self.tables = tables
        self.sink = sink
        self.instance = instance
        self.metrics = metrics
        // The sink name and instance are ours (no tab, newline or backslash): safe as COPY text.
        extra = Array("\t\(sink)\t\(instance)".utf8)
        copySQL = "COPY \(tables.staging) (\(tables.columnList), _sink, _instance) FROM STDIN"
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        for row in rows {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow(extra: extra)
        }
        if encoder.buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !encoder.buffer.isEmpty else { return }
        let data = encoder.buffer
        let sql = copySQL
        try connection.withRetry("staging rows for \(tables.table)") { conn throws(PostgresError) in
            try PGConnection.copy(conn, sql, data: data)
        }
        metrics.count("kvstream_postgres_rows_staged_total", data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
        encoder.buffer.removeAll(keepingCapacity: true)
        staged = true
    }

    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        try flush()
        guard staged else { return [] }
        let sql = "UPDATE \(tables.staging) SET _checkpoint = $3 WHERE _sink = $1 AND _instance = $2 AND _checkpoint IS NULL"
        let parameters = [sink, instance, String(checkpointID)]
        try connection.withRetry("staging checkpoint \(checkpointID) of \(tables.table)") { conn throws(PostgresError) in
            try PGConnection.query(conn, sql, parameters)
        }
        staged = false
        var fields = tables.commitFields
        fields["instance"] = instance
        fields["checkpoint"] = String(checkpointID)
        return [.external(handler: PostgresSinkConnector.handlerName(sink), fields: fields)]
    }

    /// Rows not yet flushed are dropped; staged ones wait for the restart's recovery.
    func close() throws {}
}

/// Creates tables, commits checkpoints and recovers, over a connection of its own.
final class PostgresCommitter: @unchecked Sendable {
    // @unchecked: the connection is used under `lock` only.
    private let connection: PGConnection
    private let lock = NSLock()
    private let schema: String
    private let sink: String
    private var created: Set<String> = []

    init(endpoint: PostgresEndpoint, schema: String, sink: String) {
        connection = PGConnection(endpoint: endpoint)
        self.schema = schema
        self.sink = sink
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The advisory lock that serialises the sinks' table creation on a database ("kvst" in ASCII).
    static let ddlLock: Int64 = 0x6B76_7374

    func ensureTables(_ tables: PostgresTables) throws {
        try locked {
            guard !created.contains(tables.table) else { return }
            // One implicit transaction (a multi-statement query) under a lock of its own: concurrent CREATE ... IF NOT
            // EXISTS of the same table (two jobs starting together on one database) can fail on pg_type's unique
            // index instead of finding the other's table.
            let sql = "SELECT pg_advisory_xact_lock(\(Self.ddlLock)); CREATE SCHEMA IF NOT EXISTS \(quoted(schema)); "
                + "\(PostgresTables.createProgress(schema: schema)); \(tables.createTarget); \(tables.createStaging)"
            try connection.withRetry("creating \(tables.table)") { conn throws(PostgresError) in
                try PGConnection.exec(conn, sql)
            }
            created.insert(tables.table)
        }
    }

    /// Removes staged rows of the scope's instances that the restored checkpoint does not cover, and rewinds
    /// their progress to it (a skipped corrupt checkpoint may have committed further).
    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        let staging = PostgresTables.staging(schema: schema, table: table)
        let progress = PostgresTables.progress(schema: schema)
        // Instance names are `3` unscoped and `p5.3` in scope p5 (SinkConnector.instance(_:isIn:)).
        let pattern = scope.map { "^" + NSRegularExpression.escapedPattern(for: $0 + ".") } ?? "^[0-9]+$"
        let restored = String(restoredCheckpoint)
        try locked {
            try connection.withRetry("recovering \(table)") { conn throws(PostgresError) in
                let exists = try PGConnection.query(conn, "SELECT to_regclass($1) IS NOT NULL", [staging])
                guard exists.first?.first == "t" else { return }
                try PGConnection.exec(conn, "BEGIN")
                try PGConnection.query(
                    conn, "DELETE FROM \(staging) WHERE _sink = $1 AND _instance ~ $2 AND (_checkpoint IS NULL OR _checkpoint > $3)",
                    [sink, pattern, restored])
                try PGConnection.query(
                    conn, "UPDATE \(progress) SET checkpoint = $4 WHERE sink = $1 AND table_name = $2 AND instance ~ $3 AND checkpoint > $4",
                    [sink, table, pattern, restored])
                try PGConnection.exec(conn, "COMMIT")
            }
        }
    }

    /// Merges one instance's rows of one checkpoint, once.
    func commit(_ fields: [String: String]) throws {
        guard let table = fields["table"], let instance = fields["instance"], let checkpoint = fields["checkpoint"],
              let columnNames = fields["columns"]?.split(separator: ",").map(String.init), let schema = fields["schema"]
        else { throw ConnectorError("a PostgreSQL commit without its table, instance or checkpoint: \(fields)") }
        let key = (fields["key"] ?? "").split(separator: ",").map(String.init)
        let target = quoted(schema) + "." + quoted(table)
        let staging = PostgresTables.staging(schema: schema, table: table)
        let progress = PostgresTables.progress(schema: schema)
        let columns = columnNames.map(quoted).joined(separator: ", ")
        var merge: String
        if key.isEmpty {
            merge = "INSERT INTO \(target) (\(columns)) SELECT \(columns) FROM \(staging) "
                + "WHERE _sink = $1 AND _instance = $2 AND _checkpoint = $3 ORDER BY _seq"
        } else {
            let keyList = key.map(quoted).joined(separator: ", ")
            merge = "INSERT INTO \(target) (\(columns)) SELECT DISTINCT ON (\(keyList)) \(columns) FROM \(staging) "
                + "WHERE _sink = $1 AND _instance = $2 AND _checkpoint = $3 ORDER BY \(keyList), _seq DESC "
                + "ON CONFLICT (\(keyList)) DO "
            if fields["mode"] == "upsert" {
                let updates = columnNames.filter { !key.contains($0) }.map { "\(quoted($0)) = EXCLUDED.\(quoted($0))" }
                merge += updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", ")
            } else {
                merge += "NOTHING"
            }
        }
        let sink = self.sink
        try locked {
            try connection.withRetry("committing checkpoint \(checkpoint) of \(table)") { conn throws(PostgresError) in
                try PGConnection.exec(conn, "BEGIN")
                do throws(PostgresError) {
                    let done = try PGConnection.query(
                        conn, "SELECT checkpoint FROM \(progress) WHERE sink = $1 AND table_name = $2 AND instance = $3 FOR UPDATE",
                        [sink, table, instance])
                    if let last = done.first?.first.flatMap({ $0.flatMap { Int64($0) } }), last >= Int64(checkpoint) ?? 0 {
                        try PGConnection.exec(conn, "COMMIT")  // replayed: already merged
                        return
                    }
                    try PGConnection.query(conn, merge, [sink, instance, checkpoint])
                    try PGConnection.query(
                        conn, "DELETE FROM \(staging) WHERE _sink = $1 AND _instance = $2 AND _checkpoint <= $3",
                        [sink, instance, checkpoint])
                    try PGConnection.query(
                        conn, "INSERT INTO \(progress) (sink, table_name, instance, checkpoint) VALUES ($1, $2, $3, $4) "
                            + "ON CONFLICT (sink, table_name, instance) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, committed_at = now()",
                        [sink, table, instance, checkpoint])
                    try PGConnection.exec(conn, "COMMIT")
                } catch {
                    _ = try? PGConnection.exec(conn, "ROLLBACK")
                    throw error
                }
            }
        }
    }
}
