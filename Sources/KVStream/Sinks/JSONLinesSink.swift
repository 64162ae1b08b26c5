import Foundation

/// A sink that writes each table as JSON lines: `<path>/<table>/part-<instance>-<checkpoint>.jsonl`, exactly once
/// (`<instance>` is the subtask, or `p<partition>.<subtask>` in runs scoped to one Kafka partition).
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
    /// Slows writing down to this many rows per second (`throttle_rows_per_second`): a slow sink, for testing
    /// backpressure.
    public let throttleRowsPerSecond: Double?

    /// - Parameter directory: relative paths resolve against the current directory now, so that commit actions
    ///   recorded in checkpoints stay valid when a restart runs elsewhere.
    public init(directory: String, configKey: String = "path", throttleRowsPerSecond: Double? = nil) {
        self.throttleRowsPerSecond = throttleRowsPerSecond
        self.directory = directory.hasPrefix("/")
            ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        self.configKey = configKey
    }

    public var type: String { "jsonl" }
    public var summary: String { "JSON lines under \(directory)/" }

    public func location(table: String) -> String { directory + "/" + table }

    public func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        let dir = location(table: table)
        do {
            try FileSystem.makeDirectories(dir)
            return JSONLinesWriter(directory: dir, instance: instance, schema: schema,
                                   nanosPerRow: throttleRowsPerSecond.map { 1e9 / $0 })
        } catch {
            throw ConnectorError("\(error) (check \(configKey))")
        }
    }

    public func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        let dir = location(table: table)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names {
            let visible = name.hasPrefix("part-")
            guard let (instance, checkpoint) = Self.parse(visible ? name.dropFirst(5) : name.dropFirst(6)),
                  visible || name.hasPrefix(".part-"), Self.instance(instance, isIn: scope),
                  !visible || checkpoint > restoredCheckpoint
            else { continue }
            do {
                try FileManager.default.removeItem(atPath: dir + "/" + name)
            } catch {
                throw ConnectorError("cannot remove uncommitted \(dir)/\(name): \(error.localizedDescription)")
            }
        }
    }

    /// The instance and checkpoint of `<instance>-<checkpoint>...`, the rest of a file name after `part-` or
    /// `.part-` (in-progress files carry a start time where committed ones carry the checkpoint).
    static func parse(_ rest: Substring) -> (instance: Substring, checkpoint: Int64)? {
        let parts = rest.split(separator: "-", maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        let digits = parts[1].prefix { $0.isNumber }
        return Int64(digits).map { (parts[0], $0) }
    }
}

final class JSONLinesWriter: SinkWriter {
    private let directory: String
    private let instance: String
    private var encoder: JSONRowEncoder
    private var fd: Int32 = -1
    private var inProgress: String

    private let nanosPerRow: Double?

    init(directory: String, instance: String, schema: TableSchema, nanosPerRow: Double? = nil) {
        self.nanosPerRow = nanosPerRow
        self.directory = directory
        self.instance = instance
        inProgress = directory + "/.part-\(instance)-\(Clock.nowMillis())-\(UInt32.random(in: 0...UInt32.max)).inprogress"
        encoder = JSONRowEncoder(columns: schema.columns.map(\.name))
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        for row in rows {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow()
        }
        if encoder.buffer.count >= 1 << 16 { try writeBuffer() }
        if let nanosPerRow { usleep(UInt32(min(1e6, nanosPerRow * Double(rows.count) / 1_000))) }
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
        let pending = directory + "/.part-\(instance)-\(checkpointID).jsonl.pending"
        guard rename(inProgress, pending) == 0 else {
            throw ConnectorError("cannot stage \(inProgress): \(FileSystem.lastError())")
        }
        FileSystem.syncDirectory(of: pending)
        return [.rename(from: pending, to: directory + "/part-\(instance)-\(checkpointID).jsonl")]
    }

    func close() throws {
        guard fd >= 0 else { return }
        Foundation.close(fd)
        fd = -1
        unlink(inProgress)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }
}
