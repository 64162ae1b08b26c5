import Foundation
import KVStream
import Logging
import Synchronization

/// Runs a whole job on the real runtime (tasks, channels, key groups) with records from memory and rows
/// collected in memory: for tests of parallel behaviour, backpressure and end-to-end semantics.
public enum JobTestHarness {
    /// Runs `job` to the end of its input and returns what its sinks received.
    ///
    /// - Parameters:
    ///   - settings: the topology, TOML; sources should be `type = "generator"` over ``arraySource(_:)`` events,
    ///     sinks `type = "memory"`.
    ///   - sinkDelay: time each sink write takes, to simulate a slow sink.
    ///   - observe: called about every 10 ms while the job runs, with its metrics.
    public static func run(
        _ job: JobDefinition, settings toml: String, sinkDelay: Duration = .zero, channelCapacity: Int = 8,
        observe: (@Sendable (JobMetrics) -> Void)? = nil
    ) async throws -> RowStore {
        let topology = Topology(settings: try Settings.parse(toml: toml, origin: "test topology"), origin: "test")
        let store = RowStore()
        var registry = ConnectorRegistry()
        registry.registerSink(type: "memory") { _, _, _ in CollectingSinkConnector(store: store, delay: sinkDelay) }
        let plan = try PhysicalPlan(
            graph: try job.logicalGraph(), defaultParallelism: try topology.parallelism(),
            maxParallelism: try topology.maxParallelism())
        var options = JobRunOptions()
        options.bounded = true
        options.channelCapacity = channelCapacity
        let runner = try JobRunner(
            plan: plan, topology: topology, connectors: registry, options: options,
            logger: Logger(label: "kvstream.test"))
        let watcher = observe.map { observe in
            Task.detached {
                while !Task.isCancelled {
                    observe(runner.metrics)
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        defer { watcher?.cancel() }
        try await runner.run()
        store.metrics = runner.metrics.snapshot()
        return store
    }
}

/// Events held in memory, served as a generator source: split `i` of `n` serves records `i, i + n, ...`.
public func arraySource<T: Sendable>(_ records: [(value: T, timestamp: Int64)], name: String = "memory")
    -> EventSource<T>
{
    EventSource(
        formatName: name,
        decode: { _ in .failure(FormatRejection("\(name) records are not decoded from bytes")) },
        timestamp: { _ in preconditionFailure("array sources stamp records themselves") },
        makeGenerator: { options in ArrayGenerator(records: records, split: options.split, splits: options.splits) })
}

struct ArrayGenerator<T: Sendable>: RecordGenerator {
    let records: [(value: T, timestamp: Int64)]
    let stride: Int
    var next: Int

    init(records: [(value: T, timestamp: Int64)], split: Int, splits: Int) {
        self.records = records
        stride = splits
        next = split
    }

    mutating func generate(into batch: inout RecordBatch<T>, count: Int) {
        for _ in 0..<count where next < records.count {
            batch.append(records[next].value, timestamp: records[next].timestamp)
            next += stride
        }
    }
}

/// Rows that sinks received, by table.
public final class RowStore: Sendable {
    private let tables = Mutex<[String: [any SinkRow]]>([:])
    private let lastMetrics = Mutex<JobMetrics.Snapshot?>(nil)

    public init() {}

    func append(_ rows: [any SinkRow], table: String) { tables.withLock { $0[table, default: []] += rows } }

    /// The rows of `table`, as the job's row type.
    public func rows<R: SinkRow>(_ table: String, as type: R.Type = R.self) -> [R] {
        tables.withLock { $0[table] ?? [] }.compactMap { $0 as? R }
    }

    public var tableNames: [String] { tables.withLock { Array($0.keys) } }

    /// The job's metrics when it ended.
    public internal(set) var metrics: JobMetrics.Snapshot? {
        get { lastMetrics.withLock { $0 } }
        set { lastMetrics.withLock { $0 = newValue } }
    }
}

/// A sink connector that keeps rows in a ``RowStore``, optionally slowly.
public struct CollectingSinkConnector: SinkConnector {
    let store: RowStore
    let delay: Duration

    public var type: String { "memory" }
    public var summary: String { "memory" }

    public func makeWriter(table: String, schema: TableSchema, subtask: Int, parallelism: Int) throws -> SinkWriter {
        CollectingWriter(store: store, table: table, delay: delay)
    }
}

final class CollectingWriter: SinkWriter {
    let store: RowStore
    let table: String
    let delay: Duration

    init(store: RowStore, table: String, delay: Duration) {
        self.store = store
        self.table = table
        self.delay = delay
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        if delay > .zero {
            let (seconds, attoseconds) = delay.components
            usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        }
        store.append(rows, table: table)
    }

    func flush() throws {}
    func close() throws {}
}
