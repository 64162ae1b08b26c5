/// Drives a piece of dataflow without a runtime: push records, watermarks and processing time by hand and read
/// what comes out (Flink's `KeyedOneInputStreamOperatorTestHarness`).
///
/// The dataflow is declared with the normal DSL from an input stream; every operator runs chained in the
/// caller's thread, as one instance with parallelism 1, on the memory state backend.
///
/// ```swift
/// let harness = try OperatorTestHarness<Int, Int> { $0.keyBy { $0 % 2 }.window(TumblingWindows.of(.seconds(10)))
///     .reduce("sum", +) { _, _, sum in sum } }
/// harness.push(1, at: 1_000)
/// harness.watermark(10_000)
/// #expect(harness.outputValues == [1])
/// ```
///
/// ``snapshot()`` takes the state a checkpoint would hold, and a harness made with `restoring:` starts from it, as a
/// restarted job does (Flink's harness `snapshot` and `initializeState`).
public final class OperatorTestHarness<Input: Sendable, Output: Sendable> {
    private let head: Downstream<Input>
    private let collector: CollectingDownstream<Output>
    private var sideCollectors: [String: AnyObject] = [:]
    public let metrics = JobMetrics()
    private let failures = FailureSlot()
    private let checkpointing: TaskCheckpointing
    private var checkpointID: Int64

    /// - Parameters:
    ///   - restoring: a ``snapshot()`` of an earlier harness over the same dataflow, to start from.
    ///   - build: declares the dataflow under test from its input stream.
    public init(
        maxParallelism: Int = KeyGroup.defaultMaxParallelism, restoring snapshot: TaskSnapshot? = nil,
        _ build: (Stream<Input>) throws -> Stream<Output>
    ) throws {
        let builder = JobBuilder(jobName: "harness")
        let inputNode = builder.addNode(
            name: "input", kind: .operator, detail: "harness input", inputs: [], inputType: StreamType<Input>(),
            outputType: StreamType<Input>(), factory: .operator { _, output in output })
        let result = try build(Stream(builder: builder, node: inputNode.id, port: nil))
        guard result.port == nil else { preconditionFailure("the harness output must be a main output") }
        collector = CollectingDownstream<Output>()
        checkpointID = snapshot == nil ? 0 : 1_000
        let restored = snapshot.map {
            RestoredState(checkpointID: 1_000, keyed: $0.keyed, operatorState: $0.operatorState)
        }
        let chain = HarnessChain(
            graph: LogicalGraph(jobName: "harness", nodes: builder.nodes), resultNode: result.node,
            resultDownstream: collector, maxParallelism: maxParallelism, metrics: metrics, failures: failures,
            restored: restored)
        checkpointing = chain.checkpointing
        let built = try chain.build(inputNode)
        sideCollectors = chain.sideCollectors
        guard let typedHead = built as? Downstream<Input> else { preconditionFailure("harness input mistyped") }
        head = typedHead
    }

    public func push(_ value: Input, at timestamp: Int64) { push([value], timestamps: [timestamp]) }

    public func push(_ values: [Input], timestamps: [Int64]) {
        head.push(RecordBatch(values: values, timestamps: timestamps))
    }

    public func watermark(_ watermark: Int64) { head.watermark(watermark) }
    public func processingTime(_ now: Int64) { head.processingTime(now) }
    public func endOfInput() { head.endOfInput() }

    /// Records emitted on the main output so far, with their timestamps.
    public var output: [(value: Output, timestamp: Int64)] { collector.records }
    public var outputValues: [Output] { collector.records.map(\.value) }
    /// Watermarks that reached the output.
    public var watermarks: [Int64] { collector.watermarks }
    /// Takes the output collected so far.
    public func drainOutput() -> [Output] { collector.drain() }

    /// Records an operator sent to the side output `tag`.
    public func sideOutput<S: Sendable>(_ tag: OutputTag<S>) -> [S] {
        (sideCollectors[tag.id] as? CollectingDownstream<S>)?.records.map(\.value) ?? []
    }

    /// The first error an operator reported, if any.
    public var failure: JobFailure? { failures.failure }

    /// The operators' state as a checkpoint taken now would hold it: keyed state by key group, and operator
    /// state such as watermarks.
    public func snapshot() throws -> TaskSnapshot {
        checkpointID += 1
        return try checkpointing.takeSnapshot(checkpointID: checkpointID)
    }
}

/// Collects what reaches it.
final class CollectingDownstream<Element: Sendable>: Downstream<Element> {
    var records: [(value: Element, timestamp: Int64)] = []
    var watermarks: [Int64] = []
    var ended = false

    override func push(_ batch: consuming RecordBatch<Element>) {
        for i in 0..<batch.count { records.append((batch.values[i], batch.timestamps[i])) }
    }

    override func watermark(_ watermark: Int64) { watermarks.append(watermark) }
    override func endOfInput() { ended = true }

    func drain() -> [Element] {
        defer { records.removeAll() }
        return records.map(\.value)
    }
}

/// Builds every node of a harness graph chained behind the input, whatever the exchange.
private final class HarnessChain {
    let graph: LogicalGraph
    let resultNode: Int
    let resultDownstream: AnyObject
    let maxParallelism: Int
    let metrics: JobMetrics
    let failures: FailureSlot
    let backend = TaskStateBackend()
    let checkpointing: TaskCheckpointing
    var sideCollectors: [String: AnyObject] = [:]

    init(graph: LogicalGraph, resultNode: Int, resultDownstream: AnyObject, maxParallelism: Int, metrics: JobMetrics,
         failures: FailureSlot, restored: RestoredState?) {
        checkpointing = TaskCheckpointing(
            coordinator: nil, instance: TaskInstanceID(task: "harness", subtask: 0), maxParallelism: maxParallelism,
            keyGroups: 0...(maxParallelism - 1), restored: restored, backend: backend)
        self.graph = graph
        self.resultNode = resultNode
        self.resultDownstream = resultDownstream
        self.maxParallelism = maxParallelism
        self.metrics = metrics
        self.failures = failures
    }

    func build(_ node: LogicalNode) throws -> AnyObject {
        var main: AnyObject? = nil
        if let type = node.outputType {
            var targets = try graph.consumers(of: node.id, port: nil).map { try build($0.consumer) }
            if node.id == resultNode { targets.append(resultDownstream) }
            main = targets.isEmpty ? type.makeDiscard() : targets.count == 1 ? targets[0] : type.makeFanOut(targets)
        }
        var ports: [String: any SidePort] = [:]
        for (tag, type) in node.sidePorts {
            var targets = try graph.consumers(of: node.id, port: tag).map { try build($0.consumer) }
            let collector = type.makeCollector()
            sideCollectors[tag] = collector
            targets.append(collector)
            ports[tag] = type.makeSidePort(targets.count == 1 ? targets[0] : type.makeFanOut(targets))
        }
        var output = main
        if let m = main, let type = node.outputType, !ports.isEmpty {
            output = type.makeControlTee(main: m, sides: Array(ports.values))
        }
        let context = OperatorContext(
            jobName: "harness", operatorName: node.name, subtask: 0, parallelism: 1, maxParallelism: maxParallelism,
            stateBackend: backend, metrics: metrics, failures: failures, sideOutputs: SideOutputs(ports),
            checkpointing: checkpointing)
        switch node.factory {
        case .operator(let make):
            guard let output else { preconditionFailure("operator without output") }
            return try make(context, output)
        case .sink, .source:
            preconditionFailure("the operator harness drives operators only; sinks and sources need JobTestHarness")
        }
    }
}

extension StreamType {
    func makeCollector() -> AnyObject { CollectingDownstream<Element>() }
}
