import Foundation

/// A sink that writes each table as JSON lines: `<path>/<table>/part-<subtask>-<checkpoint>.jsonl`, exactly once.
///
/// Rows go to a hidden in-progress file; at each checkpoint barrier it is closed, synced and renamed to a hidden
/// pending name; when the checkpoint completes the coordinator renames it into place. Readers that glob
/// `part-*.jsonl` therefore see the rows of complete checkpoints only, each once. Upsert tables are written as a
/// changelog: a key's later lines supersede its earlier ones; order the files by checkpoint, then by line (after a
/// rescale, a key's lines may sit in files of different subtasks, never of the same checkpoint).
public struct JSONLinesSinkConnector: SinkConnector {
    public let directory: String
    /// The configuration key that set ``directory``, named in errors so the user knows what to change.
    public let configKey: String

    /// - Parameter directory: relative paths resolve against the current directory now, so that commit actions
    ///   recorded in checkpoints stay valid when a restart runs elsewhere.
    public init(directory: String, configKey: String = "path") {
        self.directory = directory.hasPrefix("/")
            ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        self.configKey = configKey
    }

    public var type: String { "jsonl" }
    public var summary: String { "JSON lines under \(directory)/" }

    public func location(table: String) -> String { directory + "/" + table }

    public func makeWriter(table: String, schema: TableSchema, subtask: Int, parallelism: Int) throws -> SinkWriter {
        let dir = location(table: table)
        do {
            try FileSystem.makeDirectories(dir)
            return JSONLinesWriter(directory: dir, subtask: subtask, schema: schema)
        } catch {
            throw ConnectorError("\(error) (check \(configKey))")
        }
    }

    public func recover(table: String, restoredCheckpoint: Int64) throws {
        let dir = location(table: table)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(".part-") || (Self.checkpoint(ofPart: name) ?? 0) > restoredCheckpoint {
            do {
                try FileManager.default.removeItem(atPath: dir + "/" + name)
            } catch {
                throw ConnectorError("cannot remove uncommitted \(dir)/\(name): \(error.localizedDescription)")
            }
        }
    }

    /// The checkpoint of a committed file name `part-<subtask>-<checkpoint>.jsonl`.
    static func checkpoint(ofPart name: String) -> Int64? {
        guard name.hasPrefix("part-"), name.hasSuffix(".jsonl") else { return nil }
        let parts = name.dropFirst(5).dropLast(6).split(separator: "-")
        return parts.count == 2 ? Int64(parts[1]) : nil
    }
}

final class JSONLinesWriter: SinkWriter {
    private let directory: String
    private let subtask: Int
    private var encoder: JSONRowEncoder
    private var fd: Int32 = -1
    private var inProgress: String

    init(directory: String, subtask: Int, schema: TableSchema) {
        self.directory = directory
        self.subtask = subtask
        inProgress = directory + "/.part-\(subtask)-\(Clock.nowMillis())-\(UInt32.random(in: 0...UInt32.max)).inprogress"
        encoder = JSONRowEncoder(columns: schema.columns.map(\.name))
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        for row in rows {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow()
        }
        if encoder.buffer.count >= 1 << 16 { try writeBuffer() }
    }

    private func writeBuffer() throws {
        guard !encoder.buffer.isEmpty else { return }
        if fd < 0 {
            fd = open(inProgress, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ConnectorError("cannot open \(inProgress): \(FileSystem.lastError())") }
        }
        var offset = 0
        let count = encoder.buffer.count
        try encoder.buffer.withUnsafeBytes { bytes in
            while offset < count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ConnectorError("cannot write \(inProgress): \(FileSystem.lastError())")
                }
                offset += n
            }
        }
        encoder.buffer.removeAll(keepingCapacity: true)
    }

    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        try writeBuffer()
        guard fd >= 0 else { return [] }  // nothing written since the last checkpoint
        guard fsync(fd) == 0 else { throw ConnectorError("cannot sync \(inProgress): \(FileSystem.lastError())") }
        Foundation.close(fd)
        fd = -1
        let pending = directory + "/.part-\(subtask)-\(checkpointID).jsonl.pending"
        guard rename(inProgress, pending) == 0 else {
            throw ConnectorError("cannot stage \(inProgress): \(FileSystem.lastError())")
        }
        FileSystem.syncDirectory(of: pending)
        return [.rename(from: pending, to: directory + "/part-\(subtask)-\(checkpointID).jsonl")]
    }

    func close() throws {
        guard fd >= 0 else { return }
        Foundation.close(fd)
        fd = -1
        unlink(inProgress)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }
}
