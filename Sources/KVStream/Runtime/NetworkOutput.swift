/// Something the task loop must flush after each input event: it may suspend on a full downstream queue.
protocol Flushable: AnyObject {
    /// Sends what is queued; returns how many sends had to wait for a full downstream queue.
    func flush() async -> Int
}

/// The end of a chain: partitions records over the next task's instances and queues them, in order with the
/// control events, until the task loop flushes.
///
/// Flushing after every input event keeps latency to one input batch, and keeps memory bounded: an input batch
/// produces a bounded amount of output, which must be accepted downstream before the next input is read.
final class NetworkOutput<Element: Sendable>: Downstream<Element>, Flushable {
    struct Target {
        let gate: InputGate<Element>
        let input: Int
    }

    private let targets: [Target]
    private let partitioning: Partitioning
    private let selector: KeyGroupSelector<Element>?
    private let subtask: Int
    private let maxParallelism: Int
    private var open: [RecordBatch<Element>]
    private var queued: [[StreamEvent<Element>]]
    private var scratch = BinaryWriter()
    private var rebalanceNext: Int

    init(
        targets: [Target], partitioning: Partitioning, selector: KeyGroupSelector<Element>?, subtask: Int,
        maxParallelism: Int
    ) {
        precondition(!targets.isEmpty)
        precondition(partitioning != .hash || selector != nil, "a hash exchange needs a key")
        self.targets = targets
        self.partitioning = partitioning
        self.selector = selector
        self.subtask = subtask
        self.maxParallelism = maxParallelism
        open = Array(repeating: RecordBatch(), count: targets.count)
        queued = Array(repeating: [], count: targets.count)
        rebalanceNext = subtask % targets.count
        super.init()
    }

    override func push(_ batch: consuming RecordBatch<Element>) {
        switch partitioning {
        case .forward where targets.count == 1:
            seal(0)
            queued[0].append(.records(consume batch))
        case .forward:
            seal(subtask)
            queued[subtask].append(.records(consume batch))
        case .broadcast:
            for i in targets.indices {
                seal(i)
                queued[i].append(.records(copy batch))
            }
        case .rebalance:
            // Whole batches round robin: cheaper than splitting and just as even over time.
            seal(rebalanceNext)
            queued[rebalanceNext].append(.records(consume batch))
            rebalanceNext = (rebalanceNext + 1) % targets.count
        case .hash:
            // The per-record loop is the selector's `scatter`, specialized where the job was defined: this class
            // is made by the runtime's generic code, so a loop of its own would run generic.
            partitionByKey(consume batch)
        }
    }

    private func partitionByKey(_ batch: consuming RecordBatch<Element>) {
        guard let selector else { return }
        let n = targets.count
        if n == 1 {
            seal(0)
            queued[0].append(.records(consume batch))
            return
        }
        // Batches are sealed once full after the whole input batch was dealt, so one may hold up to an input
        // batch's worth more than ``BatchSize/default``.
        selector.scatter(consume batch, maxParallelism, &open, &scratch)
        for target in open.indices where open[target].count >= BatchSize.default { seal(target) }
    }

    private func seal(_ target: Int) {
        guard !open[target].isEmpty else { return }
        let sealed = open[target].count
        queued[target].append(.records(open[target]))
        // Room for half as much again as the batch just sealed: a hash exchange fills batches a little past
        // ``BatchSize/default`` without growing them (growing copied every record once more), and a trickle of
        // small batches does not reserve big ones.
        open[target] = RecordBatch(reservingCapacity: min(max(sealed + sealed / 2, 64), 2 * BatchSize.default))
    }

    private func broadcastControl(_ event: StreamEvent<Element>) {
        for i in targets.indices {
            seal(i)
            queued[i].append(event)
        }
    }

    override func watermark(_ watermark: Int64) { broadcastControl(.watermark(watermark)) }
    override func idle(_ isIdle: Bool) { broadcastControl(.idle(isIdle)) }
    override func barrier(_ barrier: CheckpointBarrier) { broadcastControl(.barrier(barrier)) }
    override func endOfInput() { broadcastControl(.endOfInput) }
    // Processing time is local to each task: ticks do not cross the network.

    func flush() async -> Int {
        var waits = 0
        for i in targets.indices {
            seal(i)
            guard !queued[i].isEmpty else { continue }
            let events = queued[i]
            queued[i].removeAll(keepingCapacity: true)
            for event in events where await targets[i].gate.send(event, input: targets[i].input) { waits += 1 }
        }
        return waits
    }
}

extension Partitioning: Equatable {}
