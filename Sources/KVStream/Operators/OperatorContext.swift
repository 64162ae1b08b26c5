import Synchronization

/// What the runtime tells an operator instance about where it runs.
public final class OperatorContext {
    public let jobName: String
    public let operatorName: String
    public let subtask: Int
    public let parallelism: Int
    public let maxParallelism: Int
    /// Keyed state of the task this operator runs in (shared by its chained operators).
    public let stateBackend: KeyedStateBackend
    public let metrics: JobMetrics
    let failures: FailureSlot
    let sideOutputs: SideOutputs
    let checkpointing: TaskCheckpointing
    /// The input partitions this run of the job is scoped to (`p3`), or nil when it reads all of them.
    public let scope: String?

    init(
        jobName: String, operatorName: String, subtask: Int, parallelism: Int, maxParallelism: Int,
        stateBackend: KeyedStateBackend, metrics: JobMetrics, failures: FailureSlot, sideOutputs: SideOutputs,
        checkpointing: TaskCheckpointing, scope: String? = nil
    ) {
        self.checkpointing = checkpointing
        self.scope = scope
        self.jobName = jobName
        self.operatorName = operatorName
        self.subtask = subtask
        self.parallelism = parallelism
        self.maxParallelism = maxParallelism
        self.stateBackend = stateBackend
        self.metrics = metrics
        self.failures = failures
        self.sideOutputs = sideOutputs
    }

    /// Names this instance in output file names and sink bookkeeping: `3`, or `p5.3` in a run scoped to the
    /// input partition 5. Unique among all instances of the job on all machines.
    public var instanceName: String { scope.map { "\($0).\(subtask)" } ?? String(subtask) }

    /// The key groups this instance owns.
    public var keyGroupRange: ClosedRange<Int> {
        KeyGroup.range(operatorIndex: subtask, maxParallelism: maxParallelism, parallelism: parallelism)
    }

    /// Fails the job with an error; the task stops after the current event.
    public func fail(_ error: any Error) { failures.record(error, operatorName: operatorName, subtask: subtask) }

    /// State names are scoped by operator so that two operators of one task never share a table by accident.
    func stateName(_ name: String) -> String { "\(operatorName)\(Self.scopeSeparator)\(name)" }

    static let scopeSeparator = "::"

    /// State restored from a checkpoint for this task instance, if the job was restored.
    var restored: RestoredState? { checkpointing.restored }

    /// Includes `participant`'s state in this task's checkpoints.
    func registerForCheckpoints(_ participant: any CheckpointParticipant) { checkpointing.register(participant) }

    /// The operator's watermark when the checkpoint being restored was taken: this instance's own value when the
    /// parallelism is unchanged, otherwise the smallest of the previous instances' (conservative: nothing that
    /// was on time becomes late).
    func restoredWatermark() -> Int64? {
        guard let values = try? restored?.operatorValues(stateName("watermark"), as: SubtaskValue.self),
              !values.isEmpty else { return nil }
        if let own = values.first(where: { $0.subtask == subtask && $0.parallelism == parallelism }) { return own.value }
        return values.map(\.value).min()
    }

    func snapshotWatermark(_ watermark: Int64, into builder: SnapshotBuilder) {
        builder.addOperatorState(
            stateName("watermark"), SubtaskValue(subtask: subtask, parallelism: parallelism, value: watermark))
    }

    func flushSideOutputs() { sideOutputs.flushAll() }
}

/// The first failure of a job, shared by all its tasks.
public final class FailureSlot: Sendable {
    private let first = Mutex<JobFailure?>(nil)

    public init() {}

    func record(_ error: any Error, operatorName: String, subtask: Int) {
        first.withLock { slot in
            if slot == nil { slot = JobFailure(operatorName: operatorName, subtask: subtask, error: error) }
        }
    }

    public var failure: JobFailure? { first.withLock { $0 } }
}

/// Why a job stopped: which operator instance failed, and with what.
public struct JobFailure: Error, @unchecked Sendable, CustomStringConvertible {
    // @unchecked: `error` is only read for its description after the job stopped.
    public let operatorName: String
    public let subtask: Int
    public let error: any Error

    public var description: String { "operator '\(operatorName)' (instance \(subtask)) failed: \(error)" }
}

/// A value of operator state tagged with the instance that wrote it.
struct SubtaskValue: BinaryCodable, Sendable {
    var subtask: Int
    var parallelism: Int
    var value: Int64

    init(subtask: Int, parallelism: Int, value: Int64) {
        self.subtask = subtask
        self.parallelism = parallelism
        self.value = value
    }

    func encode(to writer: inout BinaryWriter) {
        subtask.encode(to: &writer)
        parallelism.encode(to: &writer)
        value.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        subtask = try Int(from: &reader)
        parallelism = try Int(from: &reader)
        value = try Int64(from: &reader)
    }
}
