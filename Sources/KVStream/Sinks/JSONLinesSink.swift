import Foundation

/// A sink that writes each table as JSON lines: `<path>/<table>/part-<subtask>.jsonl`.
///
/// Upsert tables are written as a changelog: a key's later lines supersede its earlier ones, and all lines of a
/// key are in the same part file (keyed operators write through the instance that owns the key). Readers take
/// the last line per primary key.
public struct JSONLinesSinkConnector: SinkConnector {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var type: String { "jsonl" }
    public var summary: String { "JSON lines under \(directory)/" }

    public func makeWriter(table: String, schema: TableSchema, subtask: Int, parallelism: Int) throws -> SinkWriter {
        let dir = URL(fileURLWithPath: directory).appendingPathComponent(table)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw ConnectorError("cannot create \(dir.path): \(error.localizedDescription)")
        }
        return try JSONLinesWriter(path: dir.appendingPathComponent("part-\(subtask).jsonl").path, schema: schema)
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
        guard fd >= 0 else { throw ConnectorError("cannot open \(path): \(String(cString: strerror(errno)))") }
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
                    throw ConnectorError("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        encoder.buffer.removeAll(keepingCapacity: true)
    }

    func flush() throws {
        try writeBuffer()
        guard fsync(fd) == 0 else { throw ConnectorError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        try flush()
        Foundation.close(fd)
    }

    deinit { if !closed { Foundation.close(fd) } }
}
