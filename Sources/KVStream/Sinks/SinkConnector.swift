import Foundation

/// Writes rows of one table for one task instance. Sinks are driven by their task: rows as they come, and
/// ``flush()`` at checkpoints and at the end.
public protocol SinkWriter: AnyObject {
    func write<R: SinkRow>(_ rows: [R]) throws
    /// Makes what was written durable (at checkpoints and at the end of the job).
    func flush() throws
    func close() throws
}

/// Binds a sink name of a job to where its tables go; created from one `[sinks.NAME]` section.
public protocol SinkConnector: Sendable {
    /// The connector type named in the topology (`jsonl`, `postgres`, `lake`, `kafka`).
    var type: String { get }
    /// A one-line description for `kvstream describe` (never secrets).
    var summary: String { get }
    func makeWriter(table: String, schema: TableSchema, subtask: Int, parallelism: Int) throws -> SinkWriter
}

/// Errors of sinks and sources, one line each.
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
