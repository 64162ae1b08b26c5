import Foundation
import KVStream

/// Writes tables to PostgreSQL exactly once (`[sinks.NAME] type = "postgres"`, SPEC section 4).
///
/// Each writer keeps the last row of each primary key since it last flushed, encoded as COPY text, and stages them
/// as chunks: one `bytea` row of the staging table `kvstream_stage_<table>` holds up to 16 MiB of rows
/// (``PostgresWriter``). At a barrier the writer tags its chunks with the checkpoint's id, in one transaction.
/// When the checkpoint completes, one transaction takes the chunks (from memory in the process that staged them,
/// else from staging: ``StagedChunkCache``), COPYs them straight into the table
/// (a chunk whose keys may already be there, or that meets a unique violation, is merged with `INSERT ... ON
/// CONFLICT DO UPDATE` for upsert tables, `DO NOTHING` for append tables), deletes them from staging, and records
/// the checkpoint in `kvstream_sink_progress` (``PostgresCommitter``). A replayed commit finds its checkpoint
/// recorded and does nothing. A restart removes staged chunks of checkpoints it does not restore. Values only ever
/// travel as COPY data or parameters; identifiers are quoted.
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

    /// Staged chunks: the writer, the chunk's number (increasing in the order the rows were written), the
    /// checkpoint it belongs to (NULL until the barrier), whether it is merged, and the rows as COPY text. The rows
    /// are stored as they are (no compression: it would cost more CPU than the WAL it saves).
    var createStaging: String {
        "CREATE TABLE IF NOT EXISTS \(staging) (_sink text NOT NULL, _instance text NOT NULL, _chunk bigint NOT NULL, "
            + "_checkpoint bigint, _merge boolean NOT NULL, _rows integer NOT NULL, _data bytea NOT NULL, "
            + "PRIMARY KEY (_sink, _instance, _chunk))"
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

