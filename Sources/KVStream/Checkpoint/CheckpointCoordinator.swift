import Foundation
import Logging

/// Triggers checkpoints, collects the task instances' snapshots, and completes a checkpoint when all arrived:
/// snapshot files, then metadata atomically, then the sinks' commits, then pruning of old checkpoints.
///
/// A task instance that finished (its input ended) counts as having acknowledged every later checkpoint with
/// its final snapshot; when every instance finished, a final checkpoint completes the job's output. At most one
/// checkpoint is in progress at a time; one that does not complete within the timeout is abandoned and the next
/// one proceeds.
public actor CheckpointCoordinator {
    struct Pending {
        var barrier: CheckpointBarrier
        var snapshots: [TaskInstanceID: TaskSnapshot] = [:]
    }

    public let storage: CheckpointStorage
    let job: String
    let maxParallelism: Int
    let instances: Set<TaskInstanceID>
    let parallelism: [String: Int]
    let retained: Int
    let timeoutMillis: Int64
    let logger: Logger
    let metrics: JobMetrics
    let sources: [String: String]
    public nonisolated let progress = CheckpointProgress()
    private var triggers: [BarrierTrigger] = []
    private var nextID: Int64
    private var pending: Pending?
    private var finished: [TaskInstanceID: TaskSnapshot] = [:]
    public private(set) var lastCompleted: CheckpointMetadata?
    private let onComplete: (@Sendable (Int64, Bool) -> Void)?
    /// Where a failed commit stops the job's tasks.
    private let failures: FailureSlot?
    private var failure: (any Error)?
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(
        storage: CheckpointStorage, job: String, maxParallelism: Int, instances: Set<TaskInstanceID>,
        parallelism: [String: Int], retained: Int, timeout: Duration, restoredID: Int64?, logger: Logger,
        metrics: JobMetrics, sources: [String: String] = [:], onComplete: (@Sendable (Int64, Bool) -> Void)? = nil,
        failures: FailureSlot? = nil
    ) {
        self.onComplete = onComplete
        self.failures = failures
        self.sources = sources
        self.storage = storage
        self.job = job
        self.maxParallelism = maxParallelism
        self.instances = instances
        self.parallelism = parallelism
        self.retained = max(1, retained)
        timeoutMillis = TimeSpan(timeout).milliseconds
        nextID = (restoredID ?? 0) + 1
        self.logger = logger
        self.metrics = metrics
    }

    /// A trigger for one source instance to watch.
    func makeTrigger() -> BarrierTrigger {
        let trigger = BarrierTrigger()
        triggers.append(trigger)
        return trigger
    }

    /// Starts a checkpoint unless one is in progress (which is abandoned if it timed out); returns its id.
    @discardableResult
    func trigger() -> Int64? {
        let now = Clock.nowMillis()
        if let current = pending {
            guard now - current.barrier.triggeredAt > timeoutMillis else { return nil }
            logger.warning("checkpoint \(current.barrier.id) timed out after \(timeoutMillis) ms: abandoned")
            metrics.checkpointsFailed.add(1, ordering: .relaxed)
            abandon(current.barrier.id)
        }
        guard finished.count < instances.count else { return nil }
        let barrier = CheckpointBarrier(id: nextID, triggeredAt: now)
        nextID += 1
        pending = Pending(barrier: barrier)
        for t in triggers { t.request(barrier.id, at: now) }
        return barrier.id
    }

    func acknowledge(_ id: Int64, instance: TaskInstanceID, snapshot: TaskSnapshot) {
        guard var current = pending, current.barrier.id == id else { return }  // abandoned or unknown
        current.snapshots[instance] = snapshot
        pending = current
        completeIfReady()
    }

    /// A task instance could not snapshot checkpoint `id`: it is abandoned; the job goes on.
    func decline(_ id: Int64, instance: TaskInstanceID, reason: String) {
        guard pending?.barrier.id == id else { return }
        logger.warning("checkpoint \(id) abandoned: \(instance) could not snapshot its state: \(reason)")
        metrics.checkpointsFailed.add(1, ordering: .relaxed)
        abandon(id)
    }

    func finished(_ instance: TaskInstanceID, snapshot: TaskSnapshot) {
        finished[instance] = snapshot
        if pending != nil {
            completeIfReady()
        } else if finished.count == instances.count {
            // Every instance ended: the final checkpoint holds their final state and commits the rest of the output.
            let barrier = CheckpointBarrier(id: nextID, triggeredAt: Clock.nowMillis())
            nextID += 1
            pending = Pending(barrier: barrier)
            completeIfReady()
        }
    }

    private func completeIfReady() {
        guard let current = pending else { return }
        var snapshots = current.snapshots
        for (instance, snapshot) in finished where snapshots[instance] == nil { snapshots[instance] = snapshot }
        guard snapshots.count == instances.count else { return }
        pending = nil
        // Final only when every snapshot in it is an instance's final one: an instance that acknowledged and then
        // finished staged more output after its acknowledgement.
        let isFinal = current.snapshots.isEmpty && finished.count == instances.count
        do {
            try complete(current.barrier, snapshots: snapshots, final: isFinal)
        } catch let error as CommitFailure {
            // The checkpoint is complete (its metadata is durable) but its output is not all visible: it must not
            // be abandoned, or what its sinks staged would be lost. The job fails; the restart restores this
            // checkpoint and replays its commits.
            metrics.checkpointsFailed.add(1, ordering: .relaxed)
            logger.error("the commit of checkpoint \(current.barrier.id) failed: \(error.underlying)")
            failure = error.underlying
            failures?.record(error.underlying, operatorName: "commit of checkpoint \(current.barrier.id)", subtask: 0)
        } catch {
            // A periodic checkpoint that cannot be written is abandoned and the job goes on; the final one carries
            // the end of the output, so the job fails without it.
            metrics.checkpointsFailed.add(1, ordering: .relaxed)
            if isFinal {
                logger.error("the final checkpoint \(current.barrier.id) could not be completed: \(error)")
                failure = error
            } else {
                logger.warning("checkpoint \(current.barrier.id) abandoned: \(error)")
                try? FileManager.default.removeItem(atPath: storage.directory(current.barrier.id))
            }
        }
        if failure == nil, finished.count == instances.count, !isFinal {
            // Everything finished while this checkpoint was in flight: the final one follows at once.
            let barrier = CheckpointBarrier(id: nextID, triggeredAt: Clock.nowMillis())
            nextID += 1
            pending = Pending(barrier: barrier)
            completeIfReady()
            return
        }
        let resumed = waiters
        waiters.removeAll()
        for w in resumed { w.resume() }
    }

    private func complete(_ barrier: CheckpointBarrier, snapshots: [TaskInstanceID: TaskSnapshot], final isFinal: Bool)
        throws
    {
        var files: [CheckpointMetadata.TaskFile] = []
        var commits: [CommitAction] = []
        for (instance, snapshot) in snapshots.sorted(by: { ($0.key.task, $0.key.subtask) < ($1.key.task, $1.key.subtask) }) {
            files.append(try storage.writeTaskSnapshot(snapshot, id: barrier.id, task: instance.task,
                                                       subtask: instance.subtask))
            commits += snapshot.commits
        }
        let metadata = CheckpointMetadata(
            job: job, checkpointID: barrier.id, triggeredAt: barrier.triggeredAt, completedAt: Clock.nowMillis(),
            maxParallelism: maxParallelism, parallelism: parallelism, final: isFinal,
            tasks: files, commits: CheckpointMetadata.commits(commits), sources: sources)
        try storage.writeMetadata(metadata)
        FaultInjection.point("after-metadata")
        do {
            try Self.commit(metadata)
        } catch {
            throw CommitFailure(underlying: error)
        }
        lastCompleted = metadata
        progress.complete(barrier.id)
        metrics.recordCheckpoint(id: barrier.id, bytes: metadata.totalBytes,
                                 durationMillis: metadata.completedAt - barrier.triggeredAt)
        storage.prune(retained: retained, logger: logger)
        onComplete?(barrier.id, isFinal)
    }

    private func abandon(_ id: Int64) {
        pending = nil
        try? FileManager.default.removeItem(atPath: storage.directory(id))
        let resumed = waiters
        waiters.removeAll()
        for w in resumed { w.resume() }
    }

    /// Runs a checkpoint's commits; idempotent, so a restart replays those of the checkpoint it restores.
    static func commit(_ metadata: CheckpointMetadata) throws {
        for (i, action) in metadata.commitActions.enumerated() {
            switch action {
            case .rename(let from, let to): try FileSystem.renameIdempotent(from: from, to: to)
            case .external(let handler, let fields): try CommitHandlers.run(handler, fields: fields)
            }
            if i == 0 { FaultInjection.point("mid-commit") }
        }
    }

    /// Waits until the checkpoint in progress (if any) completes or is dropped; throws a completion failure.
    func settle() async throws {
        if pending != nil { await withCheckedContinuation { waiters.append($0) } }
        if let failure { throw failure }
    }

    /// Triggers a checkpoint and waits for it (the stop savepoint); false when none could be taken.
    func checkpointNow() async throws -> Bool {
        var attempts = 0
        while pending != nil && attempts < 100 {
            try await settle()
            attempts += 1
        }
        guard let id = trigger() else { return false }
        try await settle()
        return lastCompleted?.checkpointID == id
    }

    /// The id the next checkpoint will get.
    var upcomingID: Int64 { nextID }
}

/// A complete checkpoint whose commits failed.
struct CommitFailure: Error {
    let underlying: any Error
}
