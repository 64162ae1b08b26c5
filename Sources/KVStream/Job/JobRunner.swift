import Foundation
import Logging
import Synchronization

/// How a run behaves (SPEC section 1, `kvstream run`).
public struct JobRunOptions: Sendable {
    /// Read every source to the end it had at start, fire everything, and stop.
    public var bounded = false
    /// Capacity of each task input queue, in events (batches or control events).
    public var channelCapacity = 8
    /// How often tasks see processing time advance (timers, early firing, idleness).
    public var tickInterval: Duration = .milliseconds(100)
    /// Which checkpoint to resume from.
    public var restore: RestoreMode = .latest
    /// Called with the id of each checkpoint once it is complete and committed, and whether it is the final one
    /// (the Kafka source then commits the checkpoint's offsets to the consumer group, for lag monitoring).
    public var onCheckpointComplete: (@Sendable (_ id: Int64, _ final: Bool) -> Void)?

    public init() {}
}

/// `--from-checkpoint`: the newest complete checkpoint, none, or a checkpoint directory.
public enum RestoreMode: Sendable, Equatable {
    case latest
    case none
    case path(String)
}

/// Starts a job's task instances from its physical plan and waits for them.
///
/// Each task instance runs in a detached task of its own, off the main actor: it builds its operator chain there
/// (operators are not `Sendable` and never leave their task), then loops over its input gate or its source.
public final class JobRunner: Sendable {
    public let plan: PhysicalPlan
    public let topology: Topology
    public let options: JobRunOptions
    public let metrics: JobMetrics
    public let stop: StopSignal
    private let sources: [Int: SourceBinding]
    private let sinks: [Int: any SinkConnector]
    private let failures = FailureSlot()
    private let logger: Logger
    public let storage: CheckpointStorage

    /// Resolves every source and sink binding up front, so that a configuration mistake stops the job before
    /// anything runs.
    private let stateStores: StateStoreFactory?
    private let stateDirectory: String
    private let cacheEntries: Int
    /// The input partitions this run is scoped to (`p3`), or nil for a run over all of the job's input.
    public let scope: String?
    private let restorePoint = Mutex<RestorePoint??>(nil)

    /// - Parameters:
    ///   - scope: runs the job for one input partition: its checkpoints, state and outputs are kept apart from
    ///     those of other partitions' runs (`<checkpoint dir>/<job>/<scope>/`), so that another machine can take
    ///     the partition over (docs/scale-out.md).
    ///   - sourceBindings: bindings that replace the topology's, by source name (the Kafka runner's partitions).
    public init(
        plan: PhysicalPlan, topology: Topology, connectors: ConnectorRegistry, options: JobRunOptions,
        metrics: JobMetrics = JobMetrics(), stop: StopSignal = StopSignal(), logger: Logger, scope: String? = nil,
        sourceBindings: [String: SourceBinding] = [:]
    ) throws {
        self.scope = scope
        let scopePath = scope.map { "/" + $0 } ?? ""
        let backend = try topology.stateBackend()
        if backend == "memory" {
            stateStores = nil
        } else if let factory = connectors.stateStore(backend) {
            stateStores = factory
        } else {
            throw topology.settings.error(at: "state.backend", "unknown state backend \"\(backend)\" (memory or rocksdb)")
        }
        stateDirectory = try topology.stateDirectory() + "/" + plan.graph.jobName + scopePath
            + "/run-\(Clock.nowMillis())-\(getpid())"
        cacheEntries = try topology.stateCacheEntries()
        self.plan = plan
        self.topology = topology
        self.options = options
        self.metrics = metrics
        self.stop = stop
        self.logger = logger
        storage = CheckpointStorage(directory: try topology.checkpointDirectory(), job: plan.graph.jobName + scopePath)
        _ = try topology.checkpointInterval()
        var sources: [Int: SourceBinding] = [:]
        var sinks: [Int: any SinkConnector] = [:]
        var byName: [String: any SinkConnector] = [:]
        for node in plan.graph.nodes {
            do {
                switch node.kind {
                case .source(let name):
                    sources[node.id] = try sourceBindings[name] ?? topology.sourceBinding(name, bounded: options.bounded)
                case .sink(let name, _):
                    if node.optionalSink && topology.settings.table("sinks.\(name)") == nil {
                        byName[name] = DiscardSinkConnector(name: name)
                    }
                    if byName[name] == nil { byName[name] = try connectors.sink(name, topology: topology) }
                    sinks[node.id] = byName[name]
                case .operator:
                    break
                }
            } catch let error as ConfigError {
                // Still a configuration error (exit 2), now saying which job and operator need the binding.
                throw ConfigError("job '\(plan.graph.jobName)', operator '\(node.name)': \(error.message)")
            }
        }
        self.sources = sources
        self.sinks = sinks
        // Two sink operators writing the same place would overwrite each other's files or rows.
        var locations: [String: String] = [:]
        for node in plan.graph.nodes {
            guard case .sink(let name, let table) = node.kind, let connector = sinks[node.id] else { continue }
            let location = connector.location(table: table)
            if let other = locations[location] {
                throw ConfigError(
                    "job '\(plan.graph.jobName)': sinks '\(other)' and '\(node.name)' both write \(location); "
                        + "give sinks.\(name) a path of its own")
            }
            locations[location] = node.name
        }
    }

    /// What the source `node` reads, for describe output.
    public func sourceBinding(of node: Int) -> SourceBinding? { sources[node] }
    public func sinkConnector(of node: Int) -> (any SinkConnector)? { sinks[node] }

    /// The checkpoint the run resumes from, chosen once (``run()`` uses the same): its id, and where it left each
    /// source split (split id -> the position's offset, and whether the split had ended).
    public func restoredSplits() throws -> (checkpoint: Int64, splits: [String: (offset: Int64, ended: Bool)])? {
        try chosenRestorePoint().map { ($0.metadata.checkpointID, try restorer.splits(of: $0)) }
    }

    private func chosenRestorePoint() throws -> RestorePoint? {
        if let chosen = restorePoint.withLock({ $0 }) { return chosen }
        let chosen = try restorer.choose()
        restorePoint.withLock { $0 = .some(chosen) }
        return chosen
    }

    private var restorer: CheckpointRestorer {
        CheckpointRestorer(plan: plan, storage: storage, sources: sourceIdentities, restore: options.restore, logger: logger)
    }

    /// Removes the state directories of runs of this job whose process is gone (killed runs leave theirs).
    private func removeStateOfDeadRuns() {
        let parent = (stateDirectory as NSString).deletingLastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix("run-") {
            guard let pid = name.split(separator: "-").last.flatMap({ Int32($0) }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
            }
        }
    }

    /// Each source node's identity, by source name.
    private var sourceIdentities: [String: String] {
        var result: [String: String] = [:]
        for node in plan.graph.nodes {
            if case .source(let name) = node.kind, let binding = sources[node.id] { result[name] = binding.identity }
        }
        return result
    }

    /// Runs the job until its sources end (bounded) or ``stop`` is requested, and throws the first failure.
    public func run() async throws {
        let graph = plan.graph
        let restoredCheckpoint = try chosenRestorePoint()
        if let (metadata, _, _) = restoredCheckpoint {
            // Its commits may not all have happened before the previous run stopped; they are idempotent.
            try CheckpointCoordinator.commit(metadata)
            logger.info("restoring \(graph.jobName) from checkpoint \(metadata.checkpointID)")
        }
        removeStateOfDeadRuns()
        // Checkpoints after the restored one (incomplete ones of a killed run, or complete ones the restore skips,
        // like a corrupt newest) would collide with the ids this run gives its checkpoints.
        try storage.removeCheckpoints(after: restoredCheckpoint?.0.checkpointID ?? 0)
        for node in graph.nodes {
            if case .sink(_, let table) = node.kind {
                try sinks[node.id]?.recover(
                    table: table, restoredCheckpoint: restoredCheckpoint?.0.checkpointID ?? 0, scope: scope)
            }
        }
        var instances: Set<TaskInstanceID> = []
        var parallelismByTask: [String: Int] = [:]
        for task in plan.tasks {
            let name = graph.nodes[task.head].name
            parallelismByTask[name] = task.parallelism
            for subtask in 0..<task.parallelism { instances.insert(TaskInstanceID(task: name, subtask: subtask)) }
        }
        let coordinator = CheckpointCoordinator(
            storage: storage, job: graph.jobName, maxParallelism: plan.maxParallelism, instances: instances,
            parallelism: parallelismByTask, retained: try topology.checkpointsRetained(),
            timeout: try topology.checkpointTimeout(), restoredID: restoredCheckpoint?.0.checkpointID, logger: logger,
            metrics: metrics, sources: sourceIdentities, onComplete: options.onCheckpointComplete,
            failures: failures)
        var triggers: [TaskInstanceKey: BarrierTrigger] = [:]
        for task in plan.tasks where sources[task.head] != nil {
            for subtask in 0..<task.parallelism {
                triggers[TaskInstanceKey(head: task.head, subtask: subtask)] = await coordinator.makeTrigger()
            }
        }
        for node in graph.nodes {
            for (tag, _) in node.sidePorts where graph.consumers(of: node.id, port: tag).isEmpty {
                logger.warning("side output '\(tag)' of '\(node.name)' is not consumed: its records are only counted")
            }
        }
        var gates: [Int: [any GateHandle]] = [:]
        for task in plan.tasks {
            let head = graph.nodes[task.head]
            guard let inputType = head.inputType else { continue }
            gates[task.head] = (0..<task.parallelism).map { _ in
                inputType.makeGate(inputs: plan.gateInputs[task.head], capacity: options.channelCapacity)
            }
        }
        let splitCounts = sources.mapValues(\.splitCount)
        let empty = plan.emptyInstances(splitCounts: splitCounts)
        let wiring = Wiring(
            runner: self, gates: gates, emptyInstances: empty, coordinator: coordinator, triggers: triggers,
            restored: restoredCheckpoint.map {
                RestoredCheckpoint(id: $0.0.checkpointID, snapshots: $0.1.map { ($0.0.task, $0.1) }, directory: $0.2)
            })
        let completion = JobCompletion(instances: instances.count)
        for task in plan.tasks {
            for subtask in 0..<task.parallelism {
                Task.detached {
                    do {
                        try await wiring.runInstance(task, subtask: subtask)
                        completion.finished()
                    } catch {
                        completion.failed(error)
                    }
                }
            }
        }
        let allGates = gates.values.flatMap { $0 }
        let tickInterval = options.tickInterval
        let ticker = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: tickInterval)
                for gate in allGates { gate.tick() }
            }
        }
        let interval = try topology.checkpointInterval()
        let checkpointer = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                await coordinator.trigger()
            }
        }
        defer {
            ticker.cancel()
            checkpointer.cancel()
        }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        try await completion.wait()
        checkpointer.cancel()
        // Every instance finished: the final checkpoint (their final states) completes and commits the output.
        try await coordinator.settle()
        guard let last = await coordinator.lastCompleted, last.final else {
            throw ConnectorError("the final checkpoint of \(graph.jobName) did not complete")
        }
    }

    fileprivate func environment(
        task: PhysicalPlan.Task, subtask: Int, coordinator: CheckpointCoordinator, restored: RestoredState?
    ) throws -> TaskEnvironment {
        let name = plan.graph.nodes[task.head].name
        let keyGroups = KeyGroup.range(operatorIndex: subtask, maxParallelism: plan.maxParallelism,
                                       parallelism: task.parallelism)
        // Only tasks with keyed operators need a store; a task's store lives in a directory of this run.
        let keyed = task.nodes.contains { plan.graph.nodes[$0].inputs.contains { $0.partitioning == .hash } }
        var store: StateStore?
        if let stateStores, keyed {
            store = try stateStores(stateDirectory + "/" + CheckpointStorage.fileSafe(name) + "-\(subtask)")
        }
        let backend = TaskStateBackend(store: store, maxParallelism: plan.maxParallelism, cacheLimit: cacheEntries)
        let checkpointing = TaskCheckpointing(
            coordinator: coordinator, instance: TaskInstanceID(task: name, subtask: subtask),
            maxParallelism: plan.maxParallelism, keyGroups: keyGroups, restored: restored, backend: backend,
            progress: coordinator.progress)
        try backend.ingest(keyGroups: keyGroups, operators: Set(task.nodes.map { plan.graph.nodes[$0].name }))
        return TaskEnvironment(
            jobName: plan.graph.jobName, taskName: name, subtask: subtask, metrics: metrics, failures: failures,
            stop: stop, checkpointing: checkpointing, scope: scope)
    }

    fileprivate var sourceBindings: [Int: SourceBinding] { sources }
    fileprivate var sinkConnectors: [Int: any SinkConnector] { sinks }
}

/// Builds the operator chains of task instances and connects them to the gates of their successors.
/// A restored checkpoint's snapshots, read once and filtered per task instance.
struct RestoredCheckpoint: Sendable {
    let id: Int64
    /// Each old task instance's snapshot, with the task's name (its head operator).
    let snapshots: [(task: String, snapshot: TaskSnapshot)]
    /// The checkpoint's directory (store checkpoints are inside it).
    let directory: String

    /// The state of the operators `names` in key groups `keyGroups`, from every old instance.
    func state(operators names: Set<String>, keyGroups: ClosedRange<Int>) -> RestoredState {
        func owner(_ name: String) -> String {
            name.range(of: OperatorContext.scopeSeparator).map { String(name[..<$0.lowerBound]) } ?? name
        }
        var keyed: [TaskSnapshot.KeyedEntry] = []
        var operatorState: [TaskSnapshot.OperatorEntry] = []
        for (_, snapshot) in snapshots {
            keyed += snapshot.keyed.filter { keyGroups.contains($0.keyGroup) && names.contains(owner($0.name)) }
            operatorState += snapshot.operatorState.filter { names.contains(owner($0.name)) }
        }
        return RestoredState(
            checkpointID: id, keyed: keyed, operatorState: operatorState,
            // A store copy holds the state of its old task's operators; only those concern this task.
            storeCheckpoints: snapshots.compactMap { task, snapshot in
                names.contains(task) ? snapshot.storeCheckpoint.map { directory + "/" + $0 } : nil
            })
    }
}

private struct Wiring: Sendable {
    let runner: JobRunner
    let gates: [Int: [any GateHandle]]
    let emptyInstances: Set<TaskInstanceKey>
    let coordinator: CheckpointCoordinator
    let triggers: [TaskInstanceKey: BarrierTrigger]
    let restored: RestoredCheckpoint?

    var plan: PhysicalPlan { runner.plan }
    var graph: LogicalGraph { runner.plan.graph }

    func runInstance(_ task: PhysicalPlan.Task, subtask: Int) async throws {
        let keyGroups = KeyGroup.range(operatorIndex: subtask, maxParallelism: plan.maxParallelism,
                                       parallelism: task.parallelism)
        let restoredState = restored?.state(
            operators: Set(task.nodes.map { graph.nodes[$0].name }), keyGroups: keyGroups)
        let environment = try runner.environment(
            task: task, subtask: subtask, coordinator: coordinator, restored: restoredState)
        defer { environment.checkpointing.release() }
        let backend = environment.checkpointing.backend
        let head = graph.nodes[task.head]
        if case .source(let declaration) = head.factory {
            let (main, ports) = try outputs(of: head, subtask: subtask, environment: environment, backend: backend)
            guard let main, let type = head.outputType, let binding = runner.sourceBindings[head.id] else {
                preconditionFailure("a source node without output or binding")
            }
            let tee = ports.isEmpty ? main : type.makeControlTee(main: main, sides: Array(ports.values))
            let source = try declaration.spawner.makeTask(
                declaration: declaration, binding: binding, subtask: subtask, parallelism: task.parallelism,
                bounded: runner.options.bounded, head: tee, rejected: ports[OutputTag<RejectedRecord>.rejected.id],
                trigger: triggers[TaskInstanceKey(head: head.id, subtask: subtask)], environment: environment)
            try await source.run()
        } else {
            guard let inputType = head.inputType, let gate = gates[head.id]?[subtask] else {
                preconditionFailure("task head '\(head.name)' has no input gate")
            }
            let chain = try makeOperator(head, subtask: subtask, environment: environment, backend: backend)
            let emptyInputs = Set(plan.gateInputs(head: head.id, subtask: subtask).filter {
                emptyInstances.contains(TaskInstanceKey(head: $0.upstreamHead, subtask: $0.upstreamSubtask))
            }.map(\.index))
            try await inputType.runTask(gate: gate, head: chain, emptyInputs: emptyInputs, environment: environment)
        }
    }

    private func makeOperator(
        _ node: LogicalNode, subtask: Int, environment: TaskEnvironment, backend: KeyedStateBackend
    ) throws -> AnyObject {
        let (main, ports) = try outputs(of: node, subtask: subtask, environment: environment, backend: backend)
        var output = main
        if let main, let type = node.outputType, !ports.isEmpty {
            output = type.makeControlTee(main: main, sides: Array(ports.values))
        }
        let context = OperatorContext(
            jobName: graph.jobName, operatorName: node.name, subtask: subtask,
            parallelism: plan.parallelism(of: node.id), maxParallelism: plan.maxParallelism, stateBackend: backend,
            metrics: runner.metrics, failures: environment.failures, sideOutputs: SideOutputs(ports),
            checkpointing: environment.checkpointing, scope: runner.scope)
        switch node.factory {
        case .operator(let make):
            guard let output else { preconditionFailure("operator '\(node.name)' has no output") }
            return try make(context, output)
        case .sink(let make):
            guard let connector = runner.sinkConnectors[node.id] else {
                preconditionFailure("sink '\(node.name)' has no connector")
            }
            let sink = try make(context, connector)
            // A sink that stages asynchronously is awaited with the outputs, before the task acknowledges.
            if let flushable = sink as? any Flushable { environment.outputs.append(flushable) }
            return sink
        case .source:
            preconditionFailure("a source cannot be chained behind another operator")
        }
    }

    /// The main output and side-output ports of a node, each wired to its consumers.
    private func outputs(
        of node: LogicalNode, subtask: Int, environment: TaskEnvironment, backend: KeyedStateBackend
    ) throws -> (AnyObject?, [String: any SidePort]) {
        let main = try node.outputType.map {
            try port(of: node, tag: nil, type: $0, subtask: subtask, environment: environment, backend: backend)
        }
        var ports: [String: any SidePort] = [:]
        for (tag, type) in node.sidePorts {
            let downstream = try port(of: node, tag: tag, type: type, subtask: subtask, environment: environment,
                                      backend: backend)
            ports[tag] = type.makeSidePort(downstream)
        }
        return (main, ports)
    }

    private func port(
        of node: LogicalNode, tag: String?, type: any AnyStreamType, subtask: Int, environment: TaskEnvironment,
        backend: KeyedStateBackend
    ) throws -> AnyObject {
        var targets: [AnyObject] = []
        for (consumer, edgeIndex) in graph.consumers(of: node.id, port: tag) {
            if plan.isChained(consumer) {
                targets.append(try makeOperator(consumer, subtask: subtask, environment: environment, backend: backend))
                continue
            }
            guard let consumerGates = gates[consumer.id] else {
                preconditionFailure("'\(consumer.name)' starts a task but has no gates")
            }
            let partitioning = plan.partitioning[consumer.id][edgeIndex]
            let offset = plan.gateOffsets[consumer.id][edgeIndex]
            let wires: [(gate: any GateHandle, input: Int)] = partitioning == .forward
                ? [(consumerGates[subtask], offset)]
                : consumerGates.map { ($0, offset + subtask) }
            let (output, flushable) = type.makeNetworkOutput(
                targets: wires, partitioning: partitioning, selector: consumer.inputs[edgeIndex].keyGroupSelector,
                subtask: subtask, maxParallelism: plan.maxParallelism)
            environment.outputs.append(flushable)
            targets.append(output)
        }
        switch targets.count {
        case 0: return type.makeDiscard()
        case 1: return targets[0]
        default: return type.makeFanOut(targets)
        }
    }
}
