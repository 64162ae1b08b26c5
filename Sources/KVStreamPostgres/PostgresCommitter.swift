import Foundation
import KVStream

/// Creates tables, commits checkpoints and recovers, over a connection of its own.
///
/// A commit is one transaction: it locks the instance's progress row (a checkpoint recorded there already is a
/// replay: nothing to do), reads the checkpoint's chunks back in the order they were written and COPYs each
/// straight into the table, each under a savepoint. A chunk the writer marked for merging, and one whose COPY
/// meets a unique violation (a key already in the table), goes through a temporary table instead: `INSERT ...
/// SELECT DISTINCT ON (key) ... ON CONFLICT`, the last row of a key winning. Then the chunks leave staging and the
/// progress row takes the checkpoint.
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
            let staging = tables.staging
            try connection.withRetry("creating \(tables.table)") { conn throws(PostgresError) in
                try PGConnection.exec(conn, sql)
                let storage = try PGConnection.query(
                    conn, "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = '_data'",
                    [staging])
                guard let mode = storage.first?.first else {
                    throw PostgresError(
                        description: "\(staging) has the shape of an older version of the sink: drop it (it only holds "
                            + "rows of checkpoints that did not complete)", connectionLost: false)
                }
                if mode != "e" {  // stored as is: compressing would cost more than it saves
                    try PGConnection.exec(conn, "ALTER TABLE \(staging) ALTER COLUMN _data SET STORAGE EXTERNAL")
                }
            }
            created.insert(tables.table)
        }
    }

    /// Removes staged chunks of the scope's instances that the restored checkpoint does not cover, and rewinds
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

    /// Writes one instance's rows of one checkpoint into its table, once.
    func commit(_ fields: [String: String]) throws {
        guard let table = fields["table"], let instance = fields["instance"], let checkpoint = fields["checkpoint"],
              let columnNames = fields["columns"]?.split(separator: ",").map(String.init), let schema = fields["schema"]
        else { throw ConnectorError("a PostgreSQL commit without its table, instance or checkpoint: \(fields)") }
        let key = (fields["key"] ?? "").split(separator: ",").map(String.init)
        let target = quoted(schema) + "." + quoted(table)
        let staging = PostgresTables.staging(schema: schema, table: table)
        let progress = PostgresTables.progress(schema: schema)
        let columns = columnNames.map(quoted).joined(separator: ", ")
        let copyTarget = "COPY \(target) (\(columns)) FROM STDIN"
        let temp = quoted("kvstream_merge_" + table)
        let createTemp = "DROP TABLE IF EXISTS pg_temp.\(temp); "
            + "CREATE TEMP TABLE \(temp) ON COMMIT DROP AS SELECT \(columns) FROM \(target) WITH NO DATA; "
            + "ALTER TABLE \(temp) ADD COLUMN _ord bigint GENERATED ALWAYS AS IDENTITY"
        let copyTemp = "COPY \(temp) (\(columns)) FROM STDIN"
        var merge: String
        if key.isEmpty {
            merge = "INSERT INTO \(target) (\(columns)) SELECT \(columns) FROM \(temp) ORDER BY _ord"
        } else {
            let keyList = key.map(quoted).joined(separator: ", ")
            merge = "INSERT INTO \(target) (\(columns)) SELECT DISTINCT ON (\(keyList)) \(columns) FROM \(temp) "
                + "ORDER BY \(keyList), _ord DESC ON CONFLICT (\(keyList)) DO "
            let updates = columnNames.filter { !key.contains($0) }.map { "\(quoted($0)) = EXCLUDED.\(quoted($0))" }
            merge += fields["mode"] == "upsert" && !updates.isEmpty ? "UPDATE SET " + updates.joined(separator: ", ") : "NOTHING"
        }
        let chunkSQL = "SELECT _data FROM \(staging) WHERE _sink = $1 AND _instance = $2 AND _chunk = $3"
        let sink = self.sink
        try locked {
            try connection.withRetry("committing checkpoint \(checkpoint) of \(table)") { conn throws(PostgresError) in
                try PGConnection.exec(conn, "BEGIN")
                do throws(PostgresError) {
                    let done = try PGConnection.query(
                        conn, "SELECT checkpoint FROM \(progress) WHERE sink = $1 AND table_name = $2 AND instance = $3 FOR UPDATE",
                        [sink, table, instance])
                    if let last = done.first?.first.flatMap({ $0.flatMap { Int64($0) } }), last >= Int64(checkpoint) ?? 0 {
                        try PGConnection.exec(conn, "COMMIT")  // replayed: already written
                        return
                    }
                    let chunks = try PGConnection.query(
                        conn, "SELECT _chunk, _merge FROM \(staging) WHERE _sink = $1 AND _instance = $2 AND _checkpoint = $3 ORDER BY _chunk",
                        [sink, instance, checkpoint])
                    func data(_ chunk: String) throws(PostgresError) -> [UInt8] {
                        let key = StagedChunkCache.key(staging: staging, sink: sink, instance: instance, chunk: chunk)
                        if let data = StagedChunkCache.shared.take(key) { return data }
                        return try PGConnection.bytes(conn, chunkSQL, [.text(sink), .text(instance), .text(chunk)]) ?? []
                    }
                    var merged: [String] = []
                    for row in chunks {
                        guard let chunk = row[0] else { continue }
                        if row[1] == "t" {
                            merged.append(chunk)
                            continue
                        }
                        let rows = try data(chunk)
                        try PGConnection.exec(conn, "SAVEPOINT kvstream_chunk")
                        do throws(PostgresError) {
                            try PGConnection.copy(conn, copyTarget, data: rows)
                            try PGConnection.exec(conn, "RELEASE SAVEPOINT kvstream_chunk")
                        } catch where error.isUniqueViolation {
                            try PGConnection.exec(conn, "ROLLBACK TO SAVEPOINT kvstream_chunk")
                            merged.append(chunk)
                        }
                    }
                    if !merged.isEmpty {
                        // Chunk numbers grow in the order rows were written, and so does _ord: the last row wins.
                        try PGConnection.exec(conn, createTemp)
                        for chunk in merged {
                            try PGConnection.copy(conn, copyTemp, data: try data(chunk))
                        }
                        try PGConnection.exec(conn, merge)
                    }
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
