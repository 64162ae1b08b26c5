/// The loop of a source instance: polls its splits, stamps watermarks per split, and drives its chain.
///
/// Each split has its own watermark generator; the instance's watermark is the minimum over its active splits.
/// A split that yields nothing for the strategy's idle timeout stops holding the watermark back; when every split
/// is idle the instance tells downstream it is idle. When all splits ended the watermark jumps to the end of
/// time, firing every window and timer downstream, and the stream ends.
final class SourceTask<Element: Sendable>: RunnableTask, CheckpointParticipant {
    /// The loop, formed in `init` (called with the concrete element type) so that it is specialized.
    private var body: (() async throws -> Void)?

    private struct SplitState {
        var generator: BoundedOutOfOrdernessGenerator
        var lastDataNanos: UInt64
        var idle = false
        var ended = false
    }

    private let name: String
    private let readers: [any SplitReader<Element>]
    @exclusivity(unchecked) private var splits: [SplitState]
    private let head: Downstream<Element>
    private let rejected: (any SidePort)?
    private let rejectedDownstream: Downstream<RejectedRecord>?
    private let environment: TaskEnvironment
    private let idleTimeoutNanos: UInt64?
    @exclusivity(unchecked) private var emittedWatermark = Watermark.minimum
    /// The minimum watermark of the active splits, while known (see ``currentWatermark()``).
    @exclusivity(unchecked) private var activeMinimum: Int64?
    private var isIdle = false
    private let metricsInstance: String
    private let bounded: Bool
    private let trigger: BarrierTrigger?
    private var injected: Int64 = 0
    private let stateName: String

    init(
        name: String, nodeName: String, readers: [any SplitReader<Element>], strategy: WatermarkStrategy,
        bounded: Bool, head: Downstream<Element>, rejected: (any SidePort)?, trigger: BarrierTrigger?,
        environment: TaskEnvironment
    ) throws {
        self.name = name
        self.bounded = bounded
        self.trigger = trigger
        stateName = nodeName + OperatorContext.scopeSeparator + "splits"
        self.readers = readers
        let now = Clock.monotonicNanos()
        splits = readers.map { _ in SplitState(generator: BoundedOutOfOrdernessGenerator(strategy: strategy),
                                                lastDataNanos: now) }
        self.head = head
        self.rejected = rejected
        rejectedDownstream = rejected.flatMap { ($0 as? SideOutput<RejectedRecord>)?.downstream }
        self.environment = environment
        idleTimeoutNanos = strategy.idleTimeout.map { UInt64(max(0, $0.milliseconds)) * 1_000_000 }
        metricsInstance = (environment.scope.map { "\($0)/" } ?? "") + "\(name)#\(environment.subtask)"
        body = { [unowned self] in try await self.loop() }
        environment.checkpointing.register(self)
        try restorePositions()
    }

    /// Resumes each split where the restored checkpoint left it; splits the checkpoint does not know start
    /// from the beginning.
    private func restorePositions() throws {
        guard let restored = environment.checkpointing.restored else { return }
        let saved = try restored.operatorValues(stateName, as: [SplitSnapshot].self).flatMap { $0 }
        let byID = Dictionary(saved.map { ($0.splitID, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, reader) in readers.enumerated() {
            guard let split = byID[reader.splitID] else { continue }
            try reader.seek(to: split.position)
            splits[i].generator.maxTimestamp = split.maxTimestamp
            splits[i].ended = split.ended
        }
        activeMinimum = nil
        if let restored = try restored.operatorValues(stateName + ".watermark", as: Int64.self).min() {
            emittedWatermark = max(emittedWatermark, min(restored, currentWatermark()))
        }
    }

    func snapshotState(into builder: SnapshotBuilder) {
        let saved = readers.indices.map { i in
            SplitSnapshot(splitID: readers[i].splitID, position: readers[i].position,
                          maxTimestamp: splits[i].generator.maxTimestamp, ended: splits[i].ended)
        }
        builder.addOperatorState(stateName, saved)
        builder.addOperatorState(stateName + ".watermark", emittedWatermark)
    }

    /// Puts a requested checkpoint barrier into the stream, between two batches.
    private func injectBarrierIfRequested() async throws {
        guard let barrier = trigger?.pending(after: injected) else { return }
        injected = barrier.id
        // An instance without splits carries nothing: its downstream gates count it as ended from the start, and
        // may have finished already, so it acknowledges without putting the barrier into its stream.
        guard !readers.isEmpty else {
            try await environment.checkpointing.acknowledge(barrier)
            return
        }
        for reader in readers { try await reader.prepareCheckpoint(barrier.id) }
        head.barrier(barrier)
        await environment.flushOutputs()
        try environment.checkFailure()
        try await environment.checkpointing.acknowledge(barrier)
    }

    func run() async throws { try await body?() }

    private func loop() async throws {
        // The instance's last watermark stays in the metrics: the final progress line reports it.
        defer { for reader in readers { reader.close() } }
        if readers.isEmpty { setIdle(true) }
        var batch = RecordBatch<Element>(reservingCapacity: BatchSize.default)
        var rejects: [RejectedRecord] = []
        var lastTick = Clock.monotonicNanos()
        var unflushed = 0
        while !environment.stop.isRequested {
            try await injectBarrierIfRequested()
            var progressed = false
            for i in readers.indices where !splits[i].ended {
                // `batch` is empty here: a batch read is handed over below and replaced by a new one.
                rejects.removeAll(keepingCapacity: true)
                let status = try readers[i].poll(into: &batch, rejects: &rejects, max: BatchSize.default)
                let now = Clock.monotonicNanos()
                if !batch.isEmpty || !rejects.isEmpty {
                    progressed = true
                    splits[i].lastDataNanos = now
                    if splits[i].idle {
                        splits[i].idle = false
                        activeMinimum = nil
                    }
                    if isIdle { setIdle(false) }
                }
                let read = batch.count
                if read > 0 {
                    environment.metrics.recordsIn.add(read, ordering: .relaxed)
                    // Handed over with the last reference (see ``pushCuttingAtWatermarks``).
                    let full = batch
                    batch = RecordBatch(reservingCapacity: BatchSize.default)
                    pushCuttingAtWatermarks(full, split: i)
                }
                if !rejects.isEmpty { emitRejects(rejects) }
                // Downstream gets the records of each batch's worth read, not only at the end of a pass over the
                // splits: a pass over many partitions read ~150k records, which the next task then processed
                // while this one waited for room, so the two alternated instead of overlapping.
                unflushed += read
                if unflushed >= BatchSize.default {
                    unflushed = 0
                    await environment.flushOutputs()
                }
                if status == .ended {
                    splits[i].ended = true
                    activeMinimum = nil
                }
                if status == .waiting, let timeout = idleTimeoutNanos, now - splits[i].lastDataNanos >= timeout {
                    splits[i].idle = true
                    activeMinimum = nil
                }
            }
            // An instance without splits has nothing to wait for in a bounded run.
            if splits.allSatisfy(\.ended) && (bounded || !splits.isEmpty) {
                advanceWatermark(to: Watermark.endOfTime)
                try await finish()
                return
            }
            advanceWatermark(to: currentWatermark())
            if !splits.isEmpty && !isIdle && splits.allSatisfy({ $0.idle || $0.ended }) { setIdle(true) }
            let now = Clock.monotonicNanos()
            if now - lastTick >= 100_000_000 {
                lastTick = now
                head.processingTime(Clock.nowMillis())
            }
            await environment.flushOutputs()
            unflushed = 0
            try environment.checkFailure()
            if !progressed { try? await Task.sleep(for: .milliseconds(5)) }
        }
        // Stopped: end the stream without advancing event time, so windows keep their state for the restart.
        try await finish()
    }

    /// Ends the stream and reports the final state: positions now, so a restart resumes right here.
    private func finish() async throws {
        // The final checkpoint covers everything read: what readers sent elsewhere must be durable too.
        for reader in readers { try await reader.prepareCheckpoint(SplitReaderCheckpoint.final) }
        head.endOfInput()
        await environment.flushOutputs()
        try environment.checkFailure()
        try await environment.checkpointing.finished()
    }

    /// Pushes a split's batch, cut right after each record that advances this instance's watermark, with the
    /// watermark emitted at the cut: downstream, each record then meets exactly the watermark of the records
    /// before it, whatever the batch sizes.
    ///
    /// The batch is consumed: a batch pushed whole is the caller's last reference, which a hash exchange then
    /// moves the records out of instead of copying them.
    private func pushCuttingAtWatermarks(_ batch: consuming RecordBatch<Element>, split i: Int) {
        var start = 0
        var maxTimestamp = splits[i].generator.maxTimestamp
        var splitWatermark = splits[i].generator.watermark(forMaxTimestamp: maxTimestamp)
        // A cut after the last record: its watermark follows the push of the batch's rest, after the loop.
        var lastWatermark: Int64?
        let count = batch.count
        for index in 0..<count {
            let t = batch.timestamps[index]
            guard t > maxTimestamp else { continue }
            maxTimestamp = t
            let advanced = splits[i].generator.watermark(forMaxTimestamp: t)
            guard advanced > splitWatermark else { continue }
            // Only a split that held the minimum can move it.
            if activeMinimum == splitWatermark { activeMinimum = nil }
            splitWatermark = advanced
            splits[i].generator.maxTimestamp = t
            let instanceWatermark = currentWatermark()
            guard instanceWatermark > emittedWatermark else { continue }
            if index == count - 1 {
                lastWatermark = instanceWatermark
                break
            }
            head.push(RecordBatch(values: Array(batch.values[start...index]),
                                  timestamps: Array(batch.timestamps[start...index])))
            start = index + 1
            advanceWatermark(to: instanceWatermark)
        }
        splits[i].generator.maxTimestamp = maxTimestamp
        guard start < count else { return }
        head.push(start == 0 ? consume batch : RecordBatch(values: Array(batch.values[start...]),
                                                   timestamps: Array(batch.timestamps[start...])))
        if let lastWatermark { advanceWatermark(to: lastWatermark) }
    }

    /// The minimum watermark of the active splits (not idle, not ended), or the last one emitted when none is
    /// active. Kept between calls: it is asked after every record that advances a split's watermark, and a scan of
    /// the splits (148 Kafka partitions in the benchmark) per record cost ~4% of a Kafka job's CPU. It changes only
    /// when the split that held it advances, or when a split turns idle, active or ended; those forget it.
    private func currentWatermark() -> Int64 {
        if let activeMinimum { return activeMinimum }
        var minimum = Int64.max
        var any = false
        for split in splits where !split.idle && !split.ended {
            any = true
            minimum = min(minimum, split.generator.currentWatermark)
        }
        guard any else { return emittedWatermark }
        activeMinimum = minimum
        return minimum
    }

    private func advanceWatermark(to watermark: Int64) {
        guard watermark > emittedWatermark else { return }
        emittedWatermark = watermark
        var maxTimestamp = Int64.min
        for split in splits { maxTimestamp = max(maxTimestamp, split.generator.maxTimestamp) }
        environment.metrics.setSourceWatermark(watermark, maxTimestamp: maxTimestamp, instance: metricsInstance)
        head.watermark(watermark)
    }

    private func setIdle(_ idle: Bool) {
        isIdle = idle
        head.idle(idle)
    }

    private func emitRejects(_ rejects: [RejectedRecord]) {
        environment.metrics.recordsRejected.add(rejects.count, ordering: .relaxed)
        guard let rejectedDownstream else { return }
        rejectedDownstream.push(RecordBatch(values: rejects, timestamps: rejects.map(\.receivedAt)))
    }
}
