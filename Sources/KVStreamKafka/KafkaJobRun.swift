import Foundation
import KVStream
import Logging
import Synchronization

/// The `[sources.NAME]` section of a Kafka source (SPEC section 6).
public struct KafkaSourceSettings: Sendable {
    public var bootstrap: String
    public var topic: String
    public var group: String
    /// Rejected messages go here; nil: nowhere but the job's `rejected` output.
    public var deadLetterTopic: String?
    public var sessionTimeout: Duration
    public var bufferBytes: Int
    public var properties: [(String, String)]

    /// Reads the section; the group defaults to `kvstream-<job>`, the topic to the source's name.
    public init(source: String, job: String, topology: Topology) throws(ConfigError) {
        let settings = topology.settings
        let section = "sources.\(source)"
        bootstrap = try settings.requireString("\(section).bootstrap")
        topic = try settings.string("\(section).topic") ?? source
        group = try settings.string("\(section).group") ?? "kvstream-\(job)"
        let dlq = try settings.string("\(section).dlq_topic") ?? "\(topic).dlq"
        deadLetterTopic = dlq.isEmpty ? nil : dlq
        sessionTimeout = try settings.duration("\(section).session_timeout") ?? .seconds(10)
        guard sessionTimeout >= .seconds(1) else {
            throw settings.error(at: "\(section).session_timeout", "must be at least 1s")
        }
        let megabytes = try settings.integer("\(section).buffer_mb") ?? 64
        guard megabytes >= 2 else { throw settings.error(at: "\(section).buffer_mb", "must be at least 2") }
        bufferBytes = Int(megabytes) << 20
        properties = try settings.table(section).map(kafkaProperties) ?? []
    }

    public var summary: String { "kafka \(topic) at \(bootstrap), group \(group)" }
}

/// Offsets each checkpoint recorded, per partition, until the checkpoint completes and they go to the group.
final class OffsetLedger: Sendable {
    private let pending = Mutex<[Int64: [Int32: Int64]]>([:])

    func record(checkpoint: Int64, partition: Int32, offset: Int64) {
        pending.withLock { $0[checkpoint, default: [:]][partition] = offset }
    }

    /// The offsets of checkpoint `id` and of any earlier one not reported yet (newest wins); a final checkpoint
    /// takes the offsets its sources recorded when they finished too.
    func take(upTo id: Int64, final: Bool) -> [Int32: Int64] {
        let id = final ? SplitReaderCheckpoint.final : id
        return pending.withLock { all in
            var result: [Int32: Int64] = [:]
            for key in all.keys.sorted() where key <= id {
                result.merge(all.removeValue(forKey: key)!) { _, newer in newer }
            }
            return result
        }
    }
}

/// Runs a job whose source is a Kafka topic.
///
/// - A job whose keys all stay within an input partition (``LogicalGraph/keysStayInInputPartitions``) joins the
///   consumer group and runs once per assigned partition, each run with its own state, checkpoints
///   (`<checkpoint dir>/<job>/p<N>/`) and outputs. When the group moves a partition, its run stops here with a final
///   checkpoint and the new owner restores it: that is how several `kvstream run` processes share the work.
/// - Any other job (one that needs every partition's records in one key's state) reads all partitions in one run,
///   assigned without group management, on one node at a time: the others stand by (``KafkaLeadership``).
public final class KafkaJobRun: Sendable {
    private let plan: PhysicalPlan
    private let topology: Topology
    private let connectors: ConnectorRegistry
    private let options: JobRunOptions
    public let metrics: JobMetrics
    public let stop: StopSignal
    private let logger: Logger
    private let sourceName: String
    private let settings: KafkaSourceSettings
    public let partitioned: Bool

    /// The Kafka source of the job under this topology, if it has one.
    public static func kafkaSource(of graph: LogicalGraph, topology: Topology) throws(ConfigError) -> String? {
        for name in graph.sourceNames where try topology.settings.string("sources.\(name).type") == "kafka" {
            return name
        }
        return nil
    }

    public init(
        plan: PhysicalPlan, topology: Topology, connectors: ConnectorRegistry, options: JobRunOptions,
        metrics: JobMetrics = JobMetrics(), stop: StopSignal = StopSignal(), logger: Logger
    ) throws {
        let graph = plan.graph
        guard let sourceName = try Self.kafkaSource(of: graph, topology: topology) else {
            throw ConfigError("job '\(graph.jobName)' has no Kafka source in this topology")
        }
        self.plan = plan
        self.topology = topology
        self.connectors = connectors
        self.options = options
        self.metrics = metrics
        self.stop = stop
        self.logger = logger
        self.sourceName = sourceName
        settings = try KafkaSourceSettings(source: sourceName, job: graph.jobName, topology: topology)
        partitioned = graph.keysStayInInputPartitions && graph.sourceNames.count == 1
        if !partitioned {
            let keys = graph.globalKeys.joined(separator: ", ")
            logger.notice(
                "\(graph.jobName) keys records across input partitions (\(keys)): it reads all partitions of \(settings.topic) in one run; run it on one machine")
        }
        if partitioned && options.restore != .latest {
            // `none` would apply again at every rebalance: each partition coming back would start over and remove
            // its committed output.
            throw ConfigError(
                "--from-checkpoint \(options.restore == .none ? "none" : "PATH") does not apply to \(graph.jobName) on "
                    + "Kafka: each partition restores its own latest checkpoint (use another checkpoint.dir and "
                    + "sources.payments.group to start over)")
        }
    }

    public func run() async throws {
        let consumer = try makeConsumer()
        let deadLetters = try settings.deadLetterTopic.map {
            DeadLetterTopic(topic: $0, producer: try KafkaProducer(
                bootstrap: settings.bootstrap, properties: settings.properties, context: "dead-letter producer"))
        }
        deadLetters?.producer.report(to: metrics)
        let partitionCount = try await offPool {
            _ = try consumer.clusterID()
            return try consumer.partitionCount()
        }
        logger.info("\(settings.summary): \(partitionCount) partition(s)\(partitioned ? ", one run per partition" : "")")
        if partitioned {
            let group = PartitionRuns(owner: self, consumer: consumer, deadLetters: deadLetters,
                                      partitionCount: partitionCount)
            try await group.run()
        } else {
            try await runLeading(consumer: consumer, deadLetters: deadLetters, partitionCount: partitionCount)
        }
        deadLetters?.producer.close()
    }

    private func makeConsumer() throws -> KafkaConsumer {
        try KafkaConsumer(
            bootstrap: settings.bootstrap, group: settings.group, topic: settings.topic, properties: settings.properties,
            bufferBytes: settings.bufferBytes,
            sessionTimeoutMillis: Int(TimeSpan(settings.sessionTimeout).milliseconds))
    }

    /// A job that reads every partition in one run runs on one node at a time: the leader of `<group>.leader`
    /// (``KafkaLeadership``). The other nodes stand by; one of them takes over, from the latest checkpoint, when
    /// the leader leaves or dies. A leader that loses the lead stops with a final checkpoint and stands by again.
    private func runLeading(consumer first: KafkaConsumer, deadLetters: DeadLetterTopic?, partitionCount: Int) async throws {
        let leadership = try await offPool { [settings] in
            try KafkaLeadership(
                bootstrap: settings.bootstrap, group: settings.group + ".leader", topic: settings.topic,
                properties: settings.properties, sessionTimeoutMillis: Int(TimeSpan(settings.sessionTimeout).milliseconds))
        }
        defer { leadership.close() }
        var consumer: KafkaConsumer? = first
        while true {
            if !leadership.isLeader {
                logger.info("\(plan.graph.jobName) reads every partition in one run, on one node at a time: standing by until this node leads (group \(leadership.group))")
            }
            guard await leadership.acquire(stop: stop) else {
                if let unused = consumer { try? await offPool { unused.close() } }
                return
            }
            logger.info("this node leads \(plan.graph.jobName) (group \(leadership.group)): running it")
            let current = try consumer ?? makeConsumer()
            consumer = nil
            let runStop = StopSignal()
            let watcher = Task { [stop] in
                while !Task.isCancelled {
                    if stop.isRequested || !leadership.isLeader {
                        runStop.request()
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { watcher.cancel() }
            try await runAll(consumer: current, deadLetters: deadLetters, partitionCount: partitionCount, stop: runStop)
            watcher.cancel()
            if stop.isRequested || leadership.isLeader { return }
            logger.warning("this node lost the lead of \(plan.graph.jobName) (group \(leadership.group)): stopped with a final checkpoint")
        }
    }

    /// One run over every partition, assigned directly.
    private func runAll(
        consumer: KafkaConsumer, deadLetters: DeadLetterTopic?, partitionCount: Int, stop: StopSignal
    ) async throws {
        let partitions = (0..<Int32(partitionCount)).map { $0 }
        let ledger = OffsetLedger()
        // Reads end offsets (blocking) and checkpoint files: off the cooperative pool.
        let (runner, restored) = try await offPool { [self] in
            let runner = try makeRunner(scope: nil, partitions: partitions, consumer: consumer,
                                        deadLetters: deadLetters, ledger: ledger, stop: stop)
            return (runner, try runner.restoredSplits()?.splits ?? [:])
        }
        var offsets: [Int32: Int64?] = [:]
        for p in partitions {
            offsets.updateValue(restored[KafkaSource.splitID(topic: settings.topic, partition: p)]?.offset, forKey: p)
        }
        try consumer.assign(offsets)
        do {
            try await runner.run()
        } catch {
            try? await offPool { consumer.close() }
            throw error
        }
        try await offPool { consumer.close() }
    }

    /// A job runner over `partitions`; `scope` names a per-partition run.
    fileprivate func makeRunner(
        scope: String?, partitions: [Int32], consumer: KafkaConsumer, deadLetters: DeadLetterTopic?,
        ledger: OffsetLedger, stop: StopSignal
    ) throws -> JobRunner {
        let ends = options.bounded ? try consumer.endOffsets(partitions) : [:]
        let source = KafkaSource(
            consumer: consumer, partitions: partitions, endOffsets: ends, deadLetters: deadLetters,
            bootstrap: settings.bootstrap, ledger: ledger)
        var options = self.options
        options.onCheckpointComplete = { [consumer] id, final in consumer.commit(ledger.take(upTo: id, final: final)) }
        return try JobRunner(
            plan: plan, topology: topology, connectors: connectors, options: options, metrics: metrics, stop: stop,
            logger: logger, scope: scope, sourceBindings: [sourceName: .external(source)])
    }

    fileprivate var topic: String { settings.topic }
    fileprivate var jobName: String { plan.graph.jobName }
    fileprivate var bounded: Bool { options.bounded }
    fileprivate var log: Logger { logger }
}

/// The per-partition runs of one process: started and stopped as the group assigns and revokes partitions.
private final class PartitionRuns: KafkaAssignmentHandler, @unchecked Sendable {
    // @unchecked: `runs` is behind a lock; the rest is immutable.
    private struct Running {
        let stop: StopSignal
        let task: Task<Void, Never>
    }

    private let owner: KafkaJobRun
    private let consumer: KafkaConsumer
    private let deadLetters: DeadLetterTopic?
    private let partitionCount: Int
    private let runs = Mutex<[Int32: Running]>([:])
    /// Partitions whose bounded run ended here (their final checkpoint says every record was read).
    private let ended = Mutex<Set<Int32>>([])
    private let failure = Mutex<(any Error)?>(nil)

    init(owner: KafkaJobRun, consumer: KafkaConsumer, deadLetters: DeadLetterTopic?, partitionCount: Int) {
        self.owner = owner
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.partitionCount = partitionCount
    }

    static func scope(_ partition: Int32) -> String { "p\(partition)" }

    func run() async throws {
        try consumer.subscribe(handler: self)
        var lastCheck = Clock.monotonicNanos()
        while failure.withLock({ $0 }) == nil && !owner.stop.isRequested {
            try? await Task.sleep(for: .milliseconds(100))
            // A bounded job is done when every partition's latest checkpoint has read to the end, wherever it ran.
            if owner.bounded, Clock.monotonicNanos() - lastCheck > 1_000_000_000 {
                lastCheck = Clock.monotonicNanos()
                if try await offPool("kafka-probe", { [self] in try allPartitionsEnded() }) { break }
            }
        }
        // Leaving the group revokes every partition: their runs stop with a final checkpoint.
        try await offPool { [consumer] in consumer.close() }
        if let failure = failure.withLock({ $0 }) { throw failure }
    }

    private func allPartitionsEnded() throws -> Bool {
        let done = ended.withLock { $0 }
        for p in 0..<Int32(partitionCount) where !done.contains(p) {
            // A partition another process ended: its scope's latest checkpoint says so.
            let probe = try owner.restorer(scope: Self.scope(p), identity: consumer.identity)
            guard let restored = try probe.latestSplits(),
                  restored.splits[KafkaSource.splitID(topic: owner.topic, partition: p)]?.ended == true
            else { return false }
            ended.withLock { set in _ = set.insert(p) }
        }
        return true
    }

    // On the consumer thread.
    func assigned(_ partitions: [Int32]) -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for p in partitions {
            do {
                let stop = StopSignal()
                let ledger = OffsetLedger()
                let runner = try owner.makeRunner(
                    scope: Self.scope(p), partitions: [p], consumer: consumer, deadLetters: deadLetters, ledger: ledger,
                    stop: stop)
                let restored = try runner.restoredSplits()
                if let split = restored?.splits[KafkaSource.splitID(topic: owner.topic, partition: p)] {
                    offsets[p] = split.offset
                    owner.log.info("partition \(p): restoring checkpoint \(restored!.checkpoint), offset \(split.offset)")
                } else {
                    owner.log.info("partition \(p): no checkpoint, reading from the beginning")
                }
                let task = Task.detached { [self] in
                    do {
                        try await runner.run()
                        if owner.bounded && !stop.isRequested { ended.withLock { set in _ = set.insert(p) } }
                    } catch {
                        record(error, partition: p)
                    }
                }
                runs.withLock { $0[p] = Running(stop: stop, task: task) }
            } catch {
                record(error, partition: p)
            }
        }
        return offsets
    }

    // On the consumer thread.
    func revoked(_ partitions: [Int32]) {
        let stopping = runs.withLock { all in partitions.compactMap { p in all.removeValue(forKey: p).map { (p, $0) } } }
        for (_, run) in stopping { run.stop.request() }
        for (_, run) in stopping { awaitBlocking { await run.task.value } }
    }

    private func record(_ error: any Error, partition: Int32) {
        owner.log.error("partition \(partition) of \(owner.jobName) failed: \(error)")
        failure.withLock { if $0 == nil { $0 = error } }
    }
}

extension KafkaJobRun {
    /// Reads the latest checkpoint of a partition's scope (without making its runner, whose sinks would connect).
    fileprivate func restorer(scope: String, identity: String) throws -> CheckpointRestorer {
        CheckpointRestorer(
            plan: plan, storage: CheckpointStorage(directory: try topology.checkpointDirectory(),
                                                   job: plan.graph.jobName + "/" + scope),
            sources: [sourceName: identity], restore: .latest, logger: logger)
    }
}

extension KafkaJobRun {
    /// Bindings that describe the job's Kafka source without connecting (for `kvstream describe`).
    public static func describedBindings(graph: LogicalGraph, topology: Topology) throws -> [String: SourceBinding] {
        guard let name = try kafkaSource(of: graph, topology: topology) else { return [:] }
        let settings = try KafkaSourceSettings(source: name, job: graph.jobName, topology: topology)
        let mode = graph.keysStayInInputPartitions && graph.sourceNames.count == 1
            ? "one run per assigned partition" : "one run over all partitions"
        return [name: .external(ProbeSource(
            topic: settings.topic, identity: "kafka topic \(settings.topic)", summary: "\(settings.summary), \(mode)"))]
    }
}

/// Stands for the Kafka source where `kvstream describe` describes the job without connecting.
private struct ProbeSource: ExternalSource {
    let topic: String
    let identity: String
    var summary: String = ""
    var type: String { "kafka" }
    var splitCount: Int { 1 }
    func makeFeeds(splits: [Int], sourceName: String, bounded: Bool) throws -> [any MessageFeed] { [] }
}
