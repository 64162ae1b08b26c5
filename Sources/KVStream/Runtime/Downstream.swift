/// Where an operator pushes what it produces, inside one task: the next chained operator, a fan-out to
/// several, or a network output to the next task.
///
/// Calls are synchronous and stay on the task's own executor; only network outputs suspend, when the task loop
/// flushes them after each input event. Subclasses override what they handle and forward the rest.
open class Downstream<Element: Sendable> {
    public init() {}

    /// Takes a batch of records. The callee owns it and may mutate it, or move its records on (a hash exchange
    /// does, when the caller gave up its last reference).
    open func push(_ batch: consuming RecordBatch<Element>) {}
    /// Event time advanced to `watermark` on this stream.
    open func watermark(_ watermark: Int64) {}
    /// The stream turned idle or active.
    open func idle(_ isIdle: Bool) {}
    /// Processing time reached `now` (epoch milliseconds); operators fire their processing-time timers.
    open func processingTime(_ now: Int64) {}
    /// A checkpoint barrier: operators snapshot their state before it passes on.
    open func barrier(_ barrier: CheckpointBarrier) {}
    /// The stream ended: operators emit all they still hold, then pass the end on.
    open func endOfInput() {}
}

/// Sends the same stream to several downstream consumers (a stream used twice, or a chain that branches).
final class FanOut<Element: Sendable>: Downstream<Element> {
    let targets: [Downstream<Element>]

    init(_ targets: [Downstream<Element>]) { self.targets = targets }

    override func push(_ batch: consuming RecordBatch<Element>) { for t in targets { t.push(copy batch) } }
    override func watermark(_ watermark: Int64) { for t in targets { t.watermark(watermark) } }
    override func idle(_ isIdle: Bool) { for t in targets { t.idle(isIdle) } }
    override func processingTime(_ now: Int64) { for t in targets { t.processingTime(now) } }
    override func barrier(_ barrier: CheckpointBarrier) { for t in targets { t.barrier(barrier) } }
    override func endOfInput() { for t in targets { t.endOfInput() } }
}

/// Consumes a stream nobody reads (for example an unused side output).
final class Discard<Element: Sendable>: Downstream<Element> {}

/// A base for one-input operators: forwards control events to `output` unless a subclass handles them.
open class OneInputOperator<Input: Sendable, Output: Sendable>: Downstream<Input> {
    public let output: Downstream<Output>

    public init(output: Downstream<Output>) { self.output = output }

    override open func watermark(_ watermark: Int64) { output.watermark(watermark) }
    override open func idle(_ isIdle: Bool) { output.idle(isIdle) }
    override open func processingTime(_ now: Int64) { output.processingTime(now) }
    override open func barrier(_ barrier: CheckpointBarrier) { output.barrier(barrier) }
    override open func endOfInput() { output.endOfInput() }
}
