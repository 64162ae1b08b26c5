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
    ///   - stateStore: keeps keyed state in this store (behind a cache of `state.cache_entries`) instead of memory.
    ///   - bounded: false runs the sources without end and stops the job (as SIGTERM does) after `stopAfter`.
    ///   - keepRows: false keeps only each table's row count and per-column sums (for benchmarks).
    ///   - stagingDelay: when set, the sink stages asynchronously (``AsyncSinkWriter``): each staging takes
    ///     this long, off the task, and the store's ``RowStore/stagingLog`` records prepares, waits and the close.
    public static func run(
        _ job: JobDefinition, settings toml: String, stateStore: StateStoreFactory? = nil, bounded: Bool = true,
        stopAfter: Duration = .milliseconds(300), sinkDelay: Duration = .zero, channelCapacity: Int = 8,
        keepRows: Bool = true, stagingDelay: Duration? = nil, logLevel: Logger.Level = .error,
        observe: (@Sendable (JobMetrics) -> Void)? = nil
    ) async throws -> RowStore {
        var logger = Logger(label: "kvstream.test")
        logger.logLevel = logLevel
        var settings = try Settings.parse(toml: toml, origin: "test topology")
        // Checkpoints and state stores of harness runs go to a directory of their own, removed afterwards.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-harness-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if settings.value(at: "checkpoint.dir") == nil { try settings.apply(override: "checkpoint.dir=\(scratch)/checkpoints") }
        try settings.apply(override: "state.dir=\(scratch)/state")
        if stateStore != nil { try settings.apply(override: "state.backend=store") }
        let topology = Topology(settings: settings, origin: "test")
        let store = RowStore(keepRows: keepRows)
        var registry = ConnectorRegistry()
        registry.registerSink(type: "memory") { _, _, _ in
            CollectingSinkConnector(store: store, delay: sinkDelay, stagingDelay: stagingDelay)
        }
        if let stateStore { registry.registerStateStore(type: "store", stateStore) }
        let plan = try PhysicalPlan(
            graph: try job.logicalGraph(settings: settings), defaultParallelism: try topology.parallelism(),
            maxParallelism: try topology.maxParallelism())
        var options = JobRunOptions()
        options.bounded = bounded
        options.restore = .none
        options.channelCapacity = channelCapacity
        let runner = try JobRunner(
            plan: plan, topology: topology, connectors: registry, options: options,
            logger: logger)
        let watcher = observe.map { observe in
            Task.detached {
                while !Task.isCancelled {
                    observe(runner.metrics)
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        defer { watcher?.cancel() }
        let stopper = bounded ? nil : Task.detached {
            try? await Task.sleep(for: stopAfter)
            runner.stop.request()
        }
        defer { stopper?.cancel() }
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

/// Rows that sinks received, by table: the rows themselves, or only a digest of them.
public final class RowStore: Sendable {
    private let tables = Mutex<[String: [any SinkRow]]>([:])
    private let digests = Mutex<[String: TableDigest]>([:])
    private let lastMetrics = Mutex<JobMetrics.Snapshot?>(nil)
    public let keepRows: Bool

    public init(keepRows: Bool = true) { self.keepRows = keepRows }

    private let staging = Mutex<[String]>([])
    /// With a staging delay: `prepare <instance> <checkpoint>`, `staged <instance>`, `closed <instance>`, in order.
    public var stagingLog: [String] { staging.withLock { $0 } }
    func logStaging(_ line: String) { staging.withLock { $0.append(line) } }

    func append<R: SinkRow>(_ rows: [R], table: String) {
        var digest = TableDigest()
        for row in rows { digest.add(row) }
        digests.withLock { $0[table, default: TableDigest()].merge(digest) }
        if keepRows { tables.withLock { $0[table, default: []] += rows as [any SinkRow] } }
    }

    /// Rows written to `table`.
    public func rowCount(_ table: String) -> Int64 { digests.withLock { $0[table]?.rows ?? 0 } }

    /// The sum of each integer column of `table` over its rows (columns of other types count 0).
    public func columnSums(_ table: String) -> [Int64] { digests.withLock { $0[table]?.columnSums ?? [] } }

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
    let stagingDelay: Duration?

    /// Keeps rows in `store`; each write takes `delay` (a slow sink). With `stagingDelay`, each staging ends
    /// asynchronously after that long (``AsyncSinkWriter``).
    public init(store: RowStore, delay: Duration = .zero, stagingDelay: Duration? = nil) {
        self.store = store
        self.delay = delay
        self.stagingDelay = stagingDelay
    }

    public var type: String { "memory" }
    public var summary: String { "memory" }

    public func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        if let stagingDelay {
            return AsyncStagingWriter(store: store, table: table, delay: delay, instance: instance, stagingDelay: stagingDelay)
        }
        return CollectingWriter(store: store, table: table, delay: delay)
    }

    public func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {}
    public func location(table: String) -> String { "memory:\(ObjectIdentifier(store))/\(table)" }
}

class CollectingWriter: SinkWriter {
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

    // Rows are visible at once: this sink is for tests of the dataflow, not of exactly-once delivery.
    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] { [] }
    func close() throws {}
}

/// A row count and per-column sums of integer values: enough to check a benchmark's output without keeping it.
struct TableDigest: Sendable {
    var rows: Int64 = 0
    var columnSums: [Int64] = []

    mutating func add<R: SinkRow>(_ row: R) {
        var encoder = SummingEncoder(sums: columnSums)
        row.encode(to: &encoder)
        columnSums = encoder.sums
        rows += 1
    }

    mutating func merge(_ other: TableDigest) {
        rows += other.rows
        if columnSums.count < other.columnSums.count {
            columnSums += Array(repeating: 0, count: other.columnSums.count - columnSums.count)
        }
        for (i, v) in other.columnSums.enumerated() { columnSums[i] &+= v }
    }
}

struct SummingEncoder: RowEncoder {
    var sums: [Int64]
    var column = 0

    private mutating func add(_ value: Int64) {
        if sums.count <= column { sums.append(0) }
        sums[column] &+= value
        column += 1
    }

    mutating func string(_ value: String) { add(0) }
    mutating func int64(_ value: Int64) { add(value) }
    mutating func double(_ value: Double) { add(0) }
    mutating func bool(_ value: Bool) { add(value ? 1 : 0) }
    mutating func timestamp(_ epochMillis: Int64) { add(epochMillis) }
    mutating func date(_ epochDays: Int32) { add(Int64(epochDays)) }
    mutating func decimal(_ units: Int128, scale: Int) { add(Int64(truncatingIfNeeded: units)) }
    mutating func stringArray(_ values: [String]) { add(Int64(values.count)) }
    mutating func json(_ document: String) { add(0) }
    mutating func null() { add(0) }
}

/// A ``CollectingWriter`` whose staging ends asynchronously, `stagingDelay` after each prepare, and logs both.
final class AsyncStagingWriter: CollectingWriter, AsyncSinkWriter {
    let instance: String
    let stagingDelay: Duration
    private(set) var hasPendingWork = false

    init(store: RowStore, table: String, delay: Duration, instance: String, stagingDelay: Duration) {
        self.instance = instance
        self.stagingDelay = stagingDelay
        super.init(store: store, table: table, delay: delay)
    }

    override func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        store.logStaging("prepare \(instance) \(checkpointID)")
        hasPendingWork = true
        return []
    }

    func finishPending() async throws {
        try await Task.sleep(for: stagingDelay)
        hasPendingWork = false
        store.logStaging("staged \(instance)")
    }

    override func close() throws { store.logStaging("closed \(instance)") }
}
