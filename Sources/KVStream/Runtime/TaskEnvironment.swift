import Synchronization

/// Asks a running job to stop: sources stop reading and the stream ends without firing what event time has not
/// reached (a savepoint-style stop).
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    public func request() { requested.store(true, ordering: .relaxed) }
    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// What one task instance shares with the job and with the operators of its chain.
final class TaskEnvironment {
    let jobName: String
    let taskName: String
    let subtask: Int
    let metrics: JobMetrics
    let failures: FailureSlot
    let stop: StopSignal
    /// The network outputs of the chain, flushed after every input event.
    var outputs: [any Flushable] = []
    let checkpointing: TaskCheckpointing
    /// The input partitions the run is scoped to (`p3`), or nil.
    let scope: String?

    init(
        jobName: String, taskName: String, subtask: Int, metrics: JobMetrics, failures: FailureSlot, stop: StopSignal,
        checkpointing: TaskCheckpointing, scope: String? = nil
    ) {
        self.scope = scope
        self.checkpointing = checkpointing
        self.jobName = jobName
        self.taskName = taskName
        self.subtask = subtask
        self.metrics = metrics
        self.failures = failures
        self.stop = stop
    }

    func flushOutputs() async {
        var waits = 0
        for output in outputs { waits += await output.flush() }
        if waits > 0 { metrics.backpressureWaits.add(waits, ordering: .relaxed) }
    }

    /// Throws the job's first failure, so that every task stops soon after one fails.
    func checkFailure() throws {
        if let failure = failures.failure { throw failure }
        if let error = checkpointing.backend.takeStoreError() { throw error }
    }
}
