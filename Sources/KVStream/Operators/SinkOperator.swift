/// The end of a stream: hands rows to a ``SinkWriter`` and stages them at each checkpoint barrier.
///
/// Staged commits stay in this operator's snapshots until a checkpoint containing them completed, so a commit
/// of an abandoned checkpoint is carried by the next one.
///
/// A writer with waits of its own (``AsyncSinkWriter``) is awaited in ``flush()``, which the task calls after every
/// input event: after a barrier passed its chain, before the task acknowledges the checkpoint.
final class SinkOperator<Row: SinkRow>: Downstream<Row>, CheckpointParticipant, Flushable {
    private let writer: SinkWriter
    private let context: OperatorContext
    private var failed = false
    private let asyncWriter: (any AsyncSinkWriter)?
    /// The input ended: close the writer once its pending work is awaited.
    private var closePending = false
    private var staged: [(checkpoint: Int64, action: CommitAction)] = []
    private var lastBarrier: Int64

    init(writer: SinkWriter, context: OperatorContext) {
        self.writer = writer
        asyncWriter = writer as? any AsyncSinkWriter
        self.context = context
        lastBarrier = context.restored?.checkpointID ?? 0
        super.init()
        context.registerForCheckpoints(self)
    }

    override func push(_ batch: consuming RecordBatch<Row>) {
        guard !failed else { return }
        do {
            try writer.write(batch.values)
            context.metrics.recordsOut.add(batch.count, ordering: .relaxed)
        } catch {
            fail(error)
        }
    }

    override func barrier(_ barrier: CheckpointBarrier) {
        lastBarrier = barrier.id
        stage(as: barrier.id)
    }

    override func endOfInput() {
        // The rest of the output belongs to whichever checkpoint completes next; it is named after the barrier
        // that would have come next, which no other file of this instance can use.
        stage(as: lastBarrier + 1, final: true)
        guard !failed else { return }
        if asyncWriter?.hasPendingWork == true {
            closePending = true
            return
        }
        do { try writer.close() } catch { fail(error) }
    }

    func flush() async -> Int {
        guard let asyncWriter, asyncWriter.hasPendingWork, !failed else { return 0 }
        do {
            try await asyncWriter.finishPending()
            if closePending {
                closePending = false
                try writer.close()
            }
        } catch {
            fail(error)
        }
        return 0
    }

    private func stage(as checkpoint: Int64, final: Bool = false) {
        guard !failed else { return }
        do {
            let actions = final
                ? try writer.prepareFinalCommit(checkpointID: checkpoint) : try writer.prepareCommit(checkpointID: checkpoint)
            for action in actions { staged.append((checkpoint, action)) }
        } catch {
            fail(error)
        }
    }

    func snapshotState(into builder: SnapshotBuilder) {
        let completed = context.checkpointing.lastCompletedCheckpoint
        staged.removeAll { $0.checkpoint <= completed }
        for (_, action) in staged { builder.addCommit(action) }
    }

    private func fail(_ error: any Error) {
        failed = true
        context.fail(error)
    }
}
