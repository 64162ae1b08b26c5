/// The runtime's handle on one element type: it makes the generic pieces (gates, fan-outs, network outputs,
/// task loops) for a type that the planner only knows as a node's port.
protocol AnyStreamType: Sendable {
    func makeGate(inputs: Int, capacity: Int) -> any GateHandle
    func makeFanOut(_ targets: [AnyObject]) -> AnyObject
    func makeDiscard() -> AnyObject
    func makeNetworkOutput(
        targets: [(gate: any GateHandle, input: Int)], partitioning: Partitioning, selector: (any Sendable)?,
        subtask: Int, maxParallelism: Int
    ) -> (AnyObject, any Flushable)
    func makeSidePort(_ downstream: AnyObject) -> any SidePort
    func makeControlTee(main: AnyObject, sides: [any SidePort]) -> AnyObject
    /// Runs the loop of a task whose chain starts with a `Downstream` of this type.
    func runTask(gate: any GateHandle, head: AnyObject, emptyInputs: Set<Int>, environment: TaskEnvironment)
        async throws
    /// A downstream that keeps what reaches it (test harnesses).
    func makeCollector() -> AnyObject
    var name: String { get }
}

final class StreamType<Element: Sendable>: AnyStreamType {
    init() {}

    var name: String { String(describing: Element.self) }

    func makeGate(inputs: Int, capacity: Int) -> any GateHandle { InputGate<Element>(inputs: inputs, capacity: capacity) }

    func makeFanOut(_ targets: [AnyObject]) -> AnyObject { FanOut<Element>(targets.map(downstream)) }

    func makeDiscard() -> AnyObject { Discard<Element>() }

    func makeNetworkOutput(
        targets: [(gate: any GateHandle, input: Int)], partitioning: Partitioning, selector: (any Sendable)?,
        subtask: Int, maxParallelism: Int
    ) -> (AnyObject, any Flushable) {
        let output = NetworkOutput<Element>(
            targets: targets.map { NetworkOutput.Target(gate: $0.gate as! InputGate<Element>, input: $0.input) },
            partitioning: partitioning, selector: selector.map { $0 as! KeyGroupSelector<Element> },
            subtask: subtask, maxParallelism: maxParallelism)
        return (output, output)
    }

    func makeSidePort(_ downstream: AnyObject) -> any SidePort { SideOutput<Element>(downstream: self.downstream(downstream)) }

    func makeControlTee(main: AnyObject, sides: [any SidePort]) -> AnyObject {
        ControlTee<Element>(main: downstream(main), sides: sides)
    }

    func runTask(gate: any GateHandle, head: AnyObject, emptyInputs: Set<Int>, environment: TaskEnvironment)
        async throws
    {
        try await TaskLoop<Element>(
            gate: gate as! InputGate<Element>, head: downstream(head), emptyInputs: emptyInputs,
            environment: environment
        ).run()
    }

    func downstream(_ object: AnyObject) -> Downstream<Element> {
        guard let typed = object as? Downstream<Element> else {
            preconditionFailure("planner wired a \(type(of: object)) where a Downstream<\(name)> belongs")
        }
        return typed
    }
}

/// A side-output port as the planner sees it: something to flush and to pass control events to.
protocol SidePort: AnyObject {
    func flushPending()
    var control: any ControlReceiver { get }
}

/// The control half of a ``Downstream``, independent of its element type.
protocol ControlReceiver: AnyObject {
    func watermark(_ watermark: Int64)
    func idle(_ isIdle: Bool)
    func processingTime(_ now: Int64)
    func barrier(_ barrier: CheckpointBarrier)
    func endOfInput()
}

extension Downstream: ControlReceiver {}

extension SideOutput: SidePort {
    var control: any ControlReceiver { downstream }
}

/// An operator's output when it has side outputs: records go to the main stream; control events go to the
/// main stream and to every side output, after the side outputs' pending records.
final class ControlTee<Element: Sendable>: Downstream<Element> {
    private let main: Downstream<Element>
    private let sides: [any SidePort]

    init(main: Downstream<Element>, sides: [any SidePort]) {
        self.main = main
        self.sides = sides
    }

    override func push(_ batch: consuming RecordBatch<Element>) { main.push(consume batch) }

    private func each(_ body: (any ControlReceiver) -> Void) {
        for side in sides {
            side.flushPending()
            body(side.control)
        }
        body(main)
    }

    override func watermark(_ watermark: Int64) { each { $0.watermark(watermark) } }
    override func idle(_ isIdle: Bool) { each { $0.idle(isIdle) } }
    override func processingTime(_ now: Int64) { each { $0.processingTime(now) } }
    override func barrier(_ barrier: CheckpointBarrier) { each { $0.barrier(barrier) } }
    override func endOfInput() { each { $0.endOfInput() } }
}

/// A task instance's inbox as the runner sees it: something to tick, whatever its element type.
protocol GateHandle: AnyObject, Sendable {
    func tick()
    var queuedEvents: Int { get }
}

extension InputGate: GateHandle {}
