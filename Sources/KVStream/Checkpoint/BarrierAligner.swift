/// Aligns checkpoint barriers over a task's inputs (Flink's `WaitingForFirstBarrier` / `CollectingBarriers`).
///
/// A pure state machine: the task loop feeds it barriers and ended inputs and performs the actions it returns
/// (block an input, take the snapshot, unblock everything). An input that ended counts as having delivered
/// every barrier. A newer barrier abandons an older alignment that never completed.
struct BarrierAligner: Sendable {
    enum Action: Equatable {
        /// Stop reading this input until the snapshot is taken.
        case block(input: Int)
        /// Every input delivered the barrier: snapshot, forward the barrier, then unblock.
        case snapshot(CheckpointBarrier)
        /// An older alignment was abandoned: unblock all inputs.
        case unblockAll
    }

    private let inputs: Int
    private var ended: Set<Int> = []
    private var current: CheckpointBarrier?
    private var received: Set<Int> = []
    /// The newest barrier already snapshotted, so stragglers of it are ignored.
    private(set) var lastCompleted: Int64 = .min

    init(inputs: Int) { self.inputs = inputs }

    mutating func barrier(_ barrier: CheckpointBarrier, input: Int) -> [Action] {
        if barrier.id <= lastCompleted { return [] }
        var actions: [Action] = []
        if let current, barrier.id > current.id {
            actions.append(.unblockAll)
            received.removeAll()
            self.current = nil
        }
        if current == nil { current = barrier }
        guard barrier.id == current?.id else { return actions }  // an older, abandoned barrier
        received.insert(input)
        if let done = completeIfAligned() { return actions + [.snapshot(done)] }
        return actions + [.block(input: input)]
    }

    mutating func inputEnded(_ input: Int) -> [Action] {
        ended.insert(input)
        guard current != nil, let done = completeIfAligned() else { return [] }
        return [.snapshot(done)]
    }

    private mutating func completeIfAligned() -> CheckpointBarrier? {
        guard let current, received.union(ended).count >= inputs else { return nil }
        self.current = nil
        received.removeAll()
        lastCompleted = current.id
        return current
    }

    var isAligning: Bool { current != nil }
}
