import Synchronization

/// An operator with state to put in checkpoints beyond its keyed state tables (those the backend snapshots).
protocol CheckpointParticipant: AnyObject {
    /// Adds the operator's state as of now; called after the barrier passed the whole chain, and when the task
    /// finishes.
    func snapshotState(into builder: SnapshotBuilder)
}

/// One task instance's side of checkpointing: it restores what the checkpoint holds for the instance, collects
/// snapshots when barriers pass, and acknowledges them to the coordinator.
final class TaskCheckpointing {
    let coordinator: CheckpointCoordinator?
    let instance: TaskInstanceID
    let maxParallelism: Int
    let keyGroups: ClosedRange<Int>
    let restored: RestoredState?
    let backend: TaskStateBackend
    let progress: CheckpointProgress
    /// The operators of the task's chain (they own the state restored into it).
    var operatorNames: Set<String> = []
    private var participants: [any CheckpointParticipant] = []

    init(
        coordinator: CheckpointCoordinator?, instance: TaskInstanceID, maxParallelism: Int,
        keyGroups: ClosedRange<Int>, restored: RestoredState?, backend: TaskStateBackend,
        progress: CheckpointProgress = CheckpointProgress()
    ) {
        self.coordinator = coordinator
        self.progress = progress
        backend.restored = restored
        self.instance = instance
        self.maxParallelism = maxParallelism
        self.keyGroups = keyGroups
        self.restored = restored
        self.backend = backend
    }

    func register(_ participant: any CheckpointParticipant) { participants.append(participant) }

    /// Forgets the participants once the task ended: they hold this object through their environment, and the
    /// cycle would keep the whole task (and through the coordinator, a connector's consumer) alive after the run.
    func release() { participants.removeAll() }

    /// The newest checkpoint the coordinator completed (its commits are done).
    var lastCompletedCheckpoint: Int64 { progress.lastCompleted }

    /// The task's whole snapshot as of now. Keyed state in a store goes into a store checkpoint inside the
    /// checkpoint's directory; a final snapshot (no checkpoint id yet) carries its entries instead.
    func takeSnapshot(checkpointID: Int64) throws -> TaskSnapshot {
        let builder = SnapshotBuilder(checkpointID: checkpointID, maxParallelism: maxParallelism)
        for participant in participants { participant.snapshotState(into: builder) }
        var storeDirectory: String?
        if backend.store != nil, checkpointID > 0, let storage = coordinator?.storage {
            let directory = storage.directory(checkpointID)
            try FileSystem.makeDirectories(directory)
            storeDirectory = directory + "/" + CheckpointStorage.fileSafe(instance.task) + "-\(instance.subtask).store"
        }
        try backend.snapshot(into: builder, storeDirectory: storeDirectory)
        return builder.snapshot
    }

    /// Snapshots and acknowledges checkpoint `barrier.id`; a snapshot that fails declines the checkpoint
    /// instead of stopping the task (the next checkpoint may succeed).
    func acknowledge(_ barrier: CheckpointBarrier) async throws {
        guard let coordinator else { return }
        let snapshot: TaskSnapshot
        do {
            snapshot = try takeSnapshot(checkpointID: barrier.id)
        } catch {
            await coordinator.decline(barrier.id, instance: instance, reason: "\(error)")
            return
        }
        FaultInjection.point("after-snapshot")
        await coordinator.acknowledge(barrier.id, instance: instance, snapshot: snapshot)
    }

    /// Reports the instance finished, with its final state.
    func finished() async throws {
        guard let coordinator else { return }
        await coordinator.finished(instance, snapshot: try takeSnapshot(checkpointID: -1))
    }
}

/// Names one task instance: its head operator and subtask index.
public struct TaskInstanceID: Sendable, Hashable, CustomStringConvertible {
    public var task: String
    public var subtask: Int

    public var description: String { "\(task)#\(subtask)" }
}

/// What a source instance reads to learn that a checkpoint was triggered.
public final class BarrierTrigger: Sendable {
    private let requested = Atomic<Int64>(0)
    private let triggeredAt = Atomic<Int64>(0)

    init() {}

    func request(_ id: Int64, at time: Int64) {
        triggeredAt.store(time, ordering: .relaxed)
        requested.store(id, ordering: .releasing)
    }

    /// The newest requested checkpoint, if newer than `injected`.
    func pending(after injected: Int64) -> CheckpointBarrier? {
        let id = requested.load(ordering: .acquiring)
        guard id > injected else { return nil }
        return CheckpointBarrier(id: id, triggeredAt: triggeredAt.load(ordering: .relaxed))
    }
}

/// The newest completed checkpoint, shared by the coordinator with every task instance.
public final class CheckpointProgress: Sendable {
    private let completed = Atomic<Int64>(0)

    public init() {}

    public var lastCompleted: Int64 { completed.load(ordering: .acquiring) }

    func complete(_ id: Int64) { completed.store(id, ordering: .releasing) }
}
