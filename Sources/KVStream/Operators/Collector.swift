/// Collects what a user function emits for one input, stamped with the input's event time unless told otherwise.
public struct Collector<Element: Sendable> {
    @usableFromInline var batch: RecordBatch<Element>
    @usableFromInline var timestamp: Int64

    init(timestamp: Int64 = 0) {
        batch = RecordBatch()
        self.timestamp = timestamp
    }

    /// Emits a record with the timestamp of the record or timer being processed.
    @inlinable
    public mutating func emit(_ value: Element) { batch.append(value, timestamp: timestamp) }

    /// Emits a record with an explicit event time.
    @inlinable
    public mutating func emit(_ value: Element, timestamp: Int64) { batch.append(value, timestamp: timestamp) }

    mutating func take() -> RecordBatch<Element> {
        defer { batch.removeAll(keepingCapacity: true) }
        return batch
    }
}

/// Names a side output of an operator: a second stream of another type (late records, rejects, alerts).
public struct OutputTag<Element: Sendable>: Sendable, Hashable {
    public let id: String

    public init(_ id: String) { self.id = id }
}

/// Records rejected by a source's format (SPEC: dead-letter outputs).
public struct RejectedRecord: Sendable, Hashable {
    /// The original bytes as text (invalid UTF-8 replaced).
    public var raw: String
    public var reason: String
    /// The source's name in the job.
    public var source: String
    /// Where it was read: `file:line` or `topic/partition@offset`.
    public var position: String
    /// Processing time it was read, epoch milliseconds.
    public var receivedAt: Int64

    public init(raw: String, reason: String, source: String, position: String, receivedAt: Int64) {
        self.raw = raw
        self.reason = reason
        self.source = source
        self.position = position
        self.receivedAt = receivedAt
    }
}

extension OutputTag where Element == RejectedRecord {
    /// The side output of a source that carries the records its format rejected.
    public static var rejected: OutputTag<RejectedRecord> { OutputTag("rejected") }
}

/// A record that arrived after its windows had closed for good (past the allowed lateness).
public struct LateRecord<Element: Sendable>: Sendable {
    public var value: Element
    public var timestamp: Int64
    /// The operator's watermark when the record arrived.
    public var watermark: Int64
    /// The window operator that dropped it.
    public var operatorName: String
}

/// A side-output port inside a task: buffers records and pushes them downstream in batches.
final class SideOutput<Element: Sendable> {
    let downstream: Downstream<Element>
    private var pending = RecordBatch<Element>()

    init(downstream: Downstream<Element>) { self.downstream = downstream }

    func emit(_ value: Element, timestamp: Int64) {
        pending.append(value, timestamp: timestamp)
        if pending.count >= BatchSize.default { flushPending() }
    }

    func flushPending() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = RecordBatch()
        downstream.push(batch)
    }
}

/// The side-output ports of one operator, by tag id.
struct SideOutputs {
    private var ports: [String: any SidePort]

    init(_ ports: [String: any SidePort]) { self.ports = ports }

    func port<S: Sendable>(_ tag: OutputTag<S>) -> SideOutput<S>? {
        guard let port = ports[tag.id] else { return nil }
        guard let typed = port as? SideOutput<S> else {
            preconditionFailure("side output '\(tag.id)' is used with two different element types")
        }
        return typed
    }

    func flushAll() { for p in ports.values { p.flushPending() } }
}
