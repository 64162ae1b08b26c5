/// What one poll of a split found.
enum PollStatus: Sendable, Equatable {
    /// Records were read (possibly zero, when all were rejected) and more may follow at once.
    case more
    /// Nothing to read right now; poll again later.
    case waiting
    /// The split is exhausted (bounded reading reached its end).
    case ended
}

/// Reads one split of a source (a file, a generator stream, a Kafka partition).
protocol SplitReader<Element>: AnyObject {
    associatedtype Element: Sendable
    /// Identifies the split in logs, metrics and checkpoints.
    var splitID: String { get }
    /// Appends up to `max` records to `batch` and rejected ones to `rejects`.
    func poll(into batch: inout RecordBatch<Element>, rejects: inout [RejectedRecord], max: Int) throws -> PollStatus
    /// Just after the last record handed out.
    var position: SplitPosition { get }
    /// Continues from a position a checkpoint recorded.
    func seek(to position: SplitPosition) throws
    /// Called at checkpoint barrier `id`, after the records before it were handed out and before the source
    /// acknowledges: whatever the reader sent elsewhere (dead letters) must be durable now.
    func prepareCheckpoint(_ id: Int64) async throws
    func close()
}

/// Checkpoint ids as split readers see them.
public enum SplitReaderCheckpoint {
    /// The id passed to `prepareCheckpoint` when the source finishes: its final checkpoint gets its id later.
    public static let final = Int64.max
}

extension SplitReader {
    func prepareCheckpoint(_ id: Int64) async throws {}
}
