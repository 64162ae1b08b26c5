import Foundation
import KVStream

/// Stages one sink instance's rows in PostgreSQL, in chunks, over a connection of its own.
///
/// Rows gather in memory (``StagedRows``: the last row of each key) until they fill ``chunkBytes`` or a barrier
/// comes; then they go to the staging table as one or two chunks (the rows to copy, the rows to merge). At the
/// barrier of checkpoint *n*, one transaction stages what is left and tags the instance's untagged chunks with *n*,
/// and checks that every chunk the writer staged since the previous barrier is there: a chunk lost by the server
/// fails the job, which then replays from the previous checkpoint.
final class PostgresWriter: SinkWriter {
    /// The most rows, as COPY text, held in memory before they are staged: 16 MiB unless a test asks otherwise.
    private let chunkBytes: Int

    private let connection: PGConnection
    private let tables: PostgresTables
    private let sink: String
    private let instance: String
    private let metrics: JobMetrics
    private var rows: StagedRows
    /// The next chunk's number: numbers increase in the order rows were written, and this run's numbers start
    /// past any an earlier run of the instance could have used (the clock's nanoseconds at start).
    private var nextChunk: Int64
    /// Chunks staged since the last barrier, still untagged.
    private var untagged = 0
    private let insertSQL: String

    init(endpoint: PostgresEndpoint, tables: PostgresTables, sink: String, instance: String, metrics: JobMetrics,
         chunkBytes: Int = 16 << 20) {
        self.chunkBytes = chunkBytes
        connection = PGConnection(endpoint: endpoint)
        self.tables = tables
        self.sink = sink
        self.instance = instance
        self.metrics = metrics
        rows = StagedRows(schema: tables.columns)
        nextChunk = Clock.nowMillis() * 1_000_000
        insertSQL = "INSERT INTO \(tables.staging) (_sink, _instance, _chunk, _checkpoint, _merge, _rows, _data) "
            + "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (_sink, _instance, _chunk) DO NOTHING"
    }

    func write<R: SinkRow>(_ batch: [R]) throws {
        for row in batch { rows.append(row) }
        if rows.byteCount >= chunkBytes { try stage(checkpoint: nil) }
    }

    /// Stages the rows held; with a checkpoint, also tags the untagged chunks with it, in one transaction.
    private func stage(checkpoint: Int64?) throws {
        let chunks = rows.takeChunks().map { chunk -> (number: Int64, chunk: StagedChunk) in
            defer { nextChunk += 1 }
            return (nextChunk, chunk)
        }
        guard checkpoint != nil || !chunks.isEmpty else { return }
        let expected = untagged + chunks.count
        let (sink, instance, insert, staging) = (self.sink, self.instance, insertSQL, tables.staging)
        let what = checkpoint.map { "staging checkpoint \($0) of \(tables.table)" } ?? "staging rows for \(tables.table)"
        // Retried as a whole: the inserts are idempotent (a chunk's number is its key), and so is the tagging.
        try connection.withRetry(what) { conn throws(PostgresError) in
            if let checkpoint { try PGConnection.exec(conn, "BEGIN") }
            do throws(PostgresError) {
                for (number, chunk) in chunks {
                    try PGConnection.query(conn, insert, [
                        .text(sink), .text(instance), .text(String(number)), checkpoint.map { .text(String($0)) } ?? .null,
                        .text(chunk.merge ? "t" : "f"), .text(String(chunk.rows)), .bytes(chunk.data),
                    ])
                }
                guard let checkpoint else { return }
                try PGConnection.query(
                    conn, "UPDATE \(staging) SET _checkpoint = $3 WHERE _sink = $1 AND _instance = $2 AND _checkpoint IS NULL",
                    [sink, instance, String(checkpoint)])
                let count = try PGConnection.query(
                    conn, "SELECT count(*) FROM \(staging) WHERE _sink = $1 AND _instance = $2 AND _checkpoint = $3",
                    [sink, instance, String(checkpoint)])
                guard count.first?.first.flatMap({ $0.flatMap { Int($0) } }) == expected else {
                    throw PostgresError(
                        description: "\(expected) chunks were staged for checkpoint \(checkpoint) of \(tables.table), "
                            + "\(count.first?.first.flatMap { $0 } ?? "none") are there (did PostgreSQL lose them?)",
                        connectionLost: false)
                }
                try PGConnection.exec(conn, "COMMIT")
            } catch {
                if checkpoint != nil { _ = try? PGConnection.exec(conn, "ROLLBACK") }
                throw error
            }
        }
        for (number, chunk) in chunks {
            StagedChunkCache.shared.put(
                StagedChunkCache.key(staging: staging, sink: sink, instance: instance, chunk: String(number)), chunk.data)
        }
        metrics.count("kvstream_postgres_rows_staged_total", chunks.reduce(0) { $0 + $1.chunk.rows })
        untagged = checkpoint == nil ? expected : 0
    }

    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        let pending = untagged > 0 || !rows.isEmpty
        try stage(checkpoint: pending ? checkpointID : nil)
        rows.endCheckpoint()
        guard pending else { return [] }
        var fields = tables.commitFields
        fields["instance"] = instance
        fields["checkpoint"] = String(checkpointID)
        return [.external(handler: PostgresSinkConnector.handlerName(sink), fields: fields)]
    }

    /// Rows held in memory are dropped; staged chunks wait for the restart's recovery.
    func close() throws {}
}
