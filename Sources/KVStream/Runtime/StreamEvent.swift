/// What flows on a channel between two tasks: data, and the control events interleaved with it.
public enum StreamEvent<Element: Sendable>: Sendable {
    case records(RecordBatch<Element>)
    /// No record with a timestamp at or below this one will follow (except late ones).
    case watermark(Int64)
    /// The input has nothing to say for now (idle) or speaks again (active); idle inputs do not hold back the
    /// combined watermark.
    case idle(Bool)
    /// Everything before this event belongs to checkpoint `id`.
    case barrier(CheckpointBarrier)
    /// The input is exhausted: nothing follows.
    case endOfInput
}

/// Marks the cut of a checkpoint in each stream.
public struct CheckpointBarrier: Sendable, Hashable {
    public var id: Int64
    /// Wall-clock time the coordinator triggered the checkpoint, epoch milliseconds.
    public var triggeredAt: Int64

    public init(id: Int64, triggeredAt: Int64) {
        self.id = id
        self.triggeredAt = triggeredAt
    }
}
