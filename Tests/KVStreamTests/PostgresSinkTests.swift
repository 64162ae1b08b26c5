import Foundation
import Testing

@testable import KVStream
@testable import KVStreamPostgres

/// A row of an upsert table keyed by (day, name), or of an append table keyed by name.
struct PGTestRow: SinkRow {
    var day: Int64
    var name: String
    var value: Int64
    var tags: [String] = []

    static let schema = TableSchema(
        columns: [Column("day", .timestamp), Column("name", .string), Column("value", .int64), Column("tags", .stringArray)],
        primaryKey: ["day", "name"], mode: .upsert)

    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.timestamp(day * 86_400_000)
        encoder.string(name)
        encoder.int64(value)
        encoder.stringArray(tags)
    }
}

struct PGTestAlert: SinkRow {
    var id: String
    var value: Int64
    static let schema = TableSchema(columns: [Column("id", .string), Column("value", .int64)], primaryKey: ["id"],
                                    mode: .append)
    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(id)
        encoder.int64(value)
    }
}

struct PGTestLine: SinkRow {
    var text: String
    static let schema = TableSchema(columns: [Column("text", .string)])
    func encode<E: RowEncoder>(to encoder: inout E) { encoder.string(text) }
}

/// The writer's in-memory rows: the last row of a key wins, keys flushed before are marked for merging.
@Suite struct StagedRowsTests {
    func lines(_ chunk: StagedChunk) -> [String] {
        String(decoding: chunk.data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func lastRowOfAKeyWinsInItsPosition() {
        var rows = StagedRows(schema: PGTestRow.schema)
        rows.append(PGTestRow(day: 1, name: "a", value: 1))
        rows.append(PGTestRow(day: 1, name: "b", value: 2))
        rows.append(PGTestRow(day: 2, name: "a", value: 3))
        rows.append(PGTestRow(day: 1, name: "a", value: 4))
        let chunks = rows.takeChunks()
        #expect(chunks.count == 1)
        #expect(chunks[0].merge == false && chunks[0].rows == 3)
        #expect(lines(chunks[0]).map { $0.split(separator: "\t")[2] } == ["2", "3", "4"])
        #expect(rows.isEmpty && rows.takeChunks().isEmpty)
    }

    @Test func keysFlushedBeforeAreMerged() {
        var rows = StagedRows(schema: PGTestRow.schema)
        rows.append(PGTestRow(day: 1, name: "a", value: 1))
        _ = rows.takeChunks()
        rows.append(PGTestRow(day: 1, name: "b", value: 2))
        rows.append(PGTestRow(day: 1, name: "a", value: 3))
        rows.append(PGTestRow(day: 1, name: "a", value: 5))
        rows.endCheckpoint()
        let chunks = rows.takeChunks()
        #expect(chunks.map(\.merge) == [false, true])
        #expect(chunks.map(\.rows) == [1, 1])
        #expect(lines(chunks[1]) == ["1970-01-02T00:00:00.000Z\ta\t5\t{}"])
    }

    @Test func forgetsTheOlderHalfAtBarriersOnly() {
        var rows = StagedRows(schema: PGTestAlert.schema, seenCapacity: 4)
        for id in ["a", "b", "c"] { rows.append(PGTestAlert(id: id, value: 0)) }
        _ = rows.takeChunks()
        rows.endCheckpoint()  // 3 >= 2: a, b, c move to the older half
        rows.append(PGTestAlert(id: "d", value: 0))
        _ = rows.takeChunks()
        rows.append(PGTestAlert(id: "a", value: 1))
        #expect(rows.takeChunks().map(\.merge) == [true])
        rows.endCheckpoint()  // d, a: 2 >= 2, a, b, c forgotten
        rows.append(PGTestAlert(id: "b", value: 1))
        rows.append(PGTestAlert(id: "d", value: 1))
        #expect(rows.takeChunks().map(\.rows) == [1, 1])
    }

    @Test func tablesWithoutAKeyKeepEveryRow() {
        var rows = StagedRows(schema: PGTestLine.schema)
        for text in ["x", "x", "tab\there", "back\\slash\nnewline"] { rows.append(PGTestLine(text: text)) }
        let chunks = rows.takeChunks()
        #expect(chunks.count == 1 && chunks[0].rows == 4)
        #expect(lines(chunks[0]) == ["x", "x", "tab\\there", "back\\\\slash\\nnewline"])
    }

    @Test func keysAreTheirColumnsText() {
        var encoder = CopyRowEncoder()
        encoder.beginRow()
        PGTestRow(day: 3, name: "a\tb", value: 7, tags: ["q\"x"]).encode(to: &encoder)
        encoder.endRow()
        var key: [UInt8] = []
        encoder.appendKey(columns: [1, 3], to: &key)
        #expect(String(decoding: key, as: UTF8.self) == "a\\tb\t{\"q\\\\\"x\"}")
    }
}

/// A throwaway PostgreSQL on loopback (`Tests/e2e/pg.sh`), for as long as the value lives.
final class PostgresServer: Sendable {
    let port = Int.random(in: 20_000..<40_000)
    let dir: String
    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("e2e/pg.sh").path

    static var available: Bool { !pgBin.isEmpty }
    private static var pgBin: String {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted().last
            .map { "/usr/lib/postgresql/\($0)/bin" } ?? ""
    }

    init() throws {
        dir = NSTemporaryDirectory() + "kvstream-pg-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        try? shell("pg_kill \(dir)")
        try? FileManager.default.removeItem(atPath: dir)
    }

    func start() throws { try shell("chmod 755 \(dir) && pg_start \(dir) \(port)") }
    /// Like a crash of the server: no shutdown checkpoint.
    func crash() throws { try shell("pg_kill \(dir)") }

    /// Not Foundation's `Process`: its `waitUntilExit` does not return while the server it started lives on.
    private func shell(_ command: String) throws {
        let strings: [String] = ["bash", "-c", "source \(Self.script) && \(command) >/dev/null"]
        let arguments: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, arguments + [nil], environ) == 0 else {
            throw ConnectorError("cannot run \(command)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw ConnectorError("\(command) failed") }
    }

    @discardableResult
    func query(_ sql: String) throws -> [[String?]] {
        let connection = PGConnection(endpoint: try PostgresEndpoint(url: url, password: nil, retryFor: .seconds(5)))
        return try connection.withRetry("test query") { conn throws(PostgresError) in
            try PGConnection.query(conn, sql, [String]())
        }
    }
}

/// The sink against a real server: chunks, commits (copied and merged), replays, recovery, a crash of the server.
@Suite(.serialized, .enabled(if: PostgresServer.available)) struct PostgresSinkTests {
    let server: PostgresServer
    let endpoint: PostgresEndpoint
    let committer: PostgresCommitter

    init() throws {
        server = try PostgresServer()
        endpoint = try PostgresEndpoint(url: server.url, password: nil, retryFor: .seconds(20))
        committer = PostgresCommitter(endpoint: endpoint, schema: "s p", sink: "pg")
    }

    func writer<R: SinkRow>(_ type: R.Type, table: String, instance: String = "0", chunkBytes: Int = 16 << 20) throws
        -> PostgresWriter
    {
        let tables = PostgresTables(schema: "s p", table: table, columns: R.schema)
        try committer.ensureTables(tables)
        return PostgresWriter(endpoint: endpoint, tables: tables, sink: "pg", instance: instance, metrics: JobMetrics(),
                              chunkBytes: chunkBytes)
    }

    func checkpoint(_ writer: PostgresWriter, _ id: Int64, commit: Bool = true) throws -> [CommitAction] {
        let actions = try writer.prepareCommit(checkpointID: id)
        if commit { try run(actions) }
        return actions
    }

    func run(_ actions: [CommitAction]) throws {
        for case .external(_, let fields) in actions { try committer.commit(fields) }
    }

    func table(_ name: String, _ columns: String = "name, value") throws -> [String] {
        try server.query("SELECT concat_ws('|', \(columns)) FROM \"s p\".\"\(name)\" ORDER BY 1").map { $0[0] ?? "NULL" }
    }

    func staged(_ name: String) throws -> Int {
        Int(try server.query("SELECT count(*) FROM \"s p\".\"kvstream_stage_\(name)\"")[0][0]!)!
    }

    @Test func upsertsKeepTheLastRowOfAKeyAcrossChunksCheckpointsAndInstances() throws {
        let w0 = try writer(PGTestRow.self, table: "t", chunkBytes: 60)
        let w1 = try writer(PGTestRow.self, table: "t", instance: "1", chunkBytes: 60)
        for value in 1...20 { try w0.write([PGTestRow(day: 1, name: "k\(value % 3)", value: Int64(value))]) }
        try w1.write([PGTestRow(day: 2, name: "other", value: 1, tags: ["a,b", "c\"d", "e\\f\tg"])])
        #expect(try staged("t") > 3)  // flushed early, as several chunks
        _ = try checkpoint(w0, 1)
        _ = try checkpoint(w1, 1)
        #expect(try table("t") == ["k0|18", "k1|19", "k2|20", "other|1"])
        #expect(try server.query("SELECT tags::text FROM \"s p\".t WHERE name = 'other'")[0][0]
            == "{\"a,b\",\"c\\\"d\",\"e\\\\f\tg\"}")
        try w0.write([PGTestRow(day: 1, name: "k1", value: 100), PGTestRow(day: 1, name: "k9", value: 9)])
        try w0.write([PGTestRow(day: 1, name: "k1", value: 101)])
        _ = try checkpoint(w0, 2)
        #expect(try table("t") == ["k0|18", "k1|101", "k2|20", "k9|9", "other|1"])
        #expect(try staged("t") == 0)
        #expect(try checkpoint(w0, 3).isEmpty)  // nothing written: nothing to commit
    }

    @Test func aReplayedCommitIsSkipped() throws {
        let w = try writer(PGTestRow.self, table: "t")
        try w.write([PGTestRow(day: 1, name: "a", value: 1)])
        let actions = try checkpoint(w, 1)
        try server.query("UPDATE \"s p\".t SET value = 42")
        try run(actions)
        #expect(try table("t") == ["a|42"])
        #expect(try server.query("SELECT checkpoint FROM \"s p\".kvstream_sink_progress")[0][0] == "1")
    }

    /// A writer that does not know the keys already in the table (as after a restart) meets unique violations:
    /// its chunk is merged, upserted or, for an append table, left alone.
    @Test func keysAlreadyInTheTableAreMerged() throws {
        var w = try writer(PGTestRow.self, table: "t")
        try w.write([PGTestRow(day: 1, name: "a", value: 1), PGTestRow(day: 1, name: "b", value: 1)])
        _ = try checkpoint(w, 1)
        w = try writer(PGTestRow.self, table: "t")
        try w.write([PGTestRow(day: 1, name: "c", value: 2), PGTestRow(day: 1, name: "a", value: 2)])
        _ = try checkpoint(w, 2)
        #expect(try table("t") == ["a|2", "b|1", "c|2"])

        var alerts = try writer(PGTestAlert.self, table: "alerts")
        try alerts.write([PGTestAlert(id: "x", value: 1)])
        _ = try checkpoint(alerts, 1)
        try alerts.write([PGTestAlert(id: "x", value: 2), PGTestAlert(id: "y", value: 2)])  // x: merged, left alone
        _ = try checkpoint(alerts, 2)
        alerts = try writer(PGTestAlert.self, table: "alerts")
        try alerts.write([PGTestAlert(id: "z", value: 3), PGTestAlert(id: "y", value: 3)])  // y: a unique violation
        _ = try checkpoint(alerts, 3)
        #expect(try table("alerts", "id, value") == ["x|1", "y|2", "z|3"])
    }

    @Test func tablesWithoutAKeyGetEveryRowOnce() throws {
        let w = try writer(PGTestLine.self, table: "lines", chunkBytes: 10)
        try w.write(["a", "a", "b\\\n\t", "c"].map(PGTestLine.init))
        let actions = try checkpoint(w, 1)
        try run(actions)
        #expect(try table("lines", "text") == ["a", "a", "b\\\n\t", "c"])
    }

    /// Recovery removes what the restored checkpoint does not cover: untagged chunks and later checkpoints'.
    @Test func recoveryRemovesChunksOfCheckpointsNotRestored() throws {
        let w = try writer(PGTestRow.self, table: "t", chunkBytes: 10)
        try w.write([PGTestRow(day: 1, name: "a", value: 1)])
        let first = try checkpoint(w, 1, commit: false)
        try w.write([PGTestRow(day: 1, name: "b", value: 1)])
        _ = try checkpoint(w, 2, commit: false)
        try w.write([PGTestRow(day: 1, name: "c", value: 1)])
        try committer.recover(table: "t", restoredCheckpoint: 1, scope: nil)
        StagedChunkCache.shared.removeAll()
        try run(first)
        #expect(try table("t") == ["a|1"])
        #expect(try staged("t") == 0)
    }

    /// Staged chunks are in a logged table: a crash of the server between staging and commit loses none.
    @Test func aCrashOfTheServerLosesNoStagedChunk() throws {
        let w = try writer(PGTestRow.self, table: "t", chunkBytes: 10)
        try w.write([PGTestRow(day: 1, name: "a", value: 1)])  // staged before the barrier
        try server.crash()
        try server.start()
        try w.write([PGTestRow(day: 1, name: "b", value: 1)])
        let actions = try checkpoint(w, 1, commit: false)
        try server.crash()
        try server.start()
        StagedChunkCache.shared.removeAll()  // as after a restart of the job: the commit reads the chunks back
        try run(actions)
        #expect(try table("t") == ["a|1", "b|1"])
    }

    /// A chunk that disappears between staging and the barrier fails the barrier: the job replays instead.
    @Test func aLostChunkFailsTheBarrier() throws {
        let w = try writer(PGTestRow.self, table: "t", chunkBytes: 10)
        try w.write([PGTestRow(day: 1, name: "a", value: 1)])
        try server.query("DELETE FROM \"s p\".kvstream_stage_t")
        #expect(throws: ConnectorError.self) { try w.prepareCommit(checkpointID: 1) }
    }
}
