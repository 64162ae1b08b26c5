import Foundation

/// A sink that writes each table as JSON lines: `<path>/<table>/part-<subtask>.jsonl`.
///
/// Upsert tables are written as a changelog: a key's later lines supersede its earlier ones, and all lines of a
/// key are in the same part file (keyed operators write through the instance that owns the key). Readers take
/// the last line per primary key.
public struct JSONLinesSinkConnector: SinkConnector {
    public let directory: String
    /// The configuration key that set ``directory``, named in errors so the user knows what to change.
    public let configKey: String

    public init(directory: String, configKey: String = "path") {
        self.directory = directory
        self.configKey = configKey
    }

    public var type: String { "jsonl" }
    public var summary: String { "JSON lines under \(directory)/" }

    public func makeWriter(table: String, schema: TableSchema, subtask: Int, parallelism: Int) throws -> SinkWriter {
        let dir = directory + "/" + table
        do {
            try FileSystem.makeDirectories(dir)
            return try JSONLinesWriter(path: dir + "/part-\(subtask).jsonl", schema: schema)
        } catch {
            throw ConnectorError("\(error) (check \(configKey))")
        }
    }
}

final class JSONLinesWriter: SinkWriter {
    private let fd: Int32
    private let path: String
    private var encoder: JSONRowEncoder
    private var closed = false

    init(path: String, schema: TableSchema) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConnectorError("cannot open \(path): \(FileSystem.lastError())") }
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
        var offset = 0
        let count = encoder.buffer.count
        try encoder.buffer.withUnsafeBytes { bytes in
            while offset < count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ConnectorError("cannot write \(path): \(FileSystem.lastError())")
                }
                offset += n
            }
        }
        encoder.buffer.removeAll(keepingCapacity: true)
    }

    func flush() throws {
        try writeBuffer()
        guard fsync(fd) == 0 else { throw ConnectorError("cannot sync \(path): \(FileSystem.lastError())") }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        try flush()
        Foundation.close(fd)
    }

    deinit { if !closed { Foundation.close(fd) } }
}
