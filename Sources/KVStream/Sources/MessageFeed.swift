/// A source connector that lives outside the core (Kafka): it hands out raw messages per split, and the core decodes
/// them with the job's ``EventSource`` in a loop specialized for the job's record type.
public protocol ExternalSource: Sendable {
    /// The connector type (`kafka`).
    var type: String { get }
    /// A one-line description for `describe` and logs (never secrets).
    var summary: String { get }
    /// What decides which records the source reads, recorded in checkpoints (see ``SourceBinding/identity``).
    var identity: String { get }
    /// The number of splits; split `i` is read by source instance `i % parallelism`.
    var splitCount: Int { get }
    /// The feeds of `splits`, for one source instance.
    func makeFeeds(splits: [Int], sourceName: String, bounded: Bool) throws -> [any MessageFeed]
}

/// Raw messages of one split (a Kafka partition), in order.
public protocol MessageFeed: AnyObject {
    /// Identifies the split in checkpoints (`kafka:payments/3`).
    var splitID: String { get }
    /// Calls `handle` with up to `max` messages' payloads and offsets, in order, and returns what it found.
    /// `handle` returns nil when it accepted the message, or the reason it rejected it; the feed then sends the
    /// original message to its dead-letter destination, if it has one. The bytes are valid only during the call.
    func poll(max: Int, _ handle: (UnsafeRawBufferPointer, Int64) -> String?) throws -> FeedStatus
    /// The offset of the next message to hand out.
    var nextOffset: Int64 { get }
    /// Continues at `offset` (a checkpoint's `nextOffset`).
    func seek(to offset: Int64) throws
    /// Where a message was read, for the `rejected` table (`payments/3@1234`).
    func describe(offset: Int64) -> String
    /// At checkpoint barrier `id`, with ``nextOffset`` the position the checkpoint records: makes what the feed
    /// sent to its dead-letter destination durable (or throws, failing the checkpoint). When the source finishes,
    /// `id` is ``SplitReaderCheckpoint/final``: the final checkpoint, whose id is not known yet. Blocking work
    /// belongs on a thread of its own, not on the cooperative pool this is called from.
    func prepareCheckpoint(_ id: Int64) async throws
    func close()
}

/// What one poll of a feed found.
public enum FeedStatus: Sendable {
    case more
    case waiting
    case ended
}

/// Reads a feed, decoding each message with the source's format: the ``SplitReader`` of external sources.
final class FeedSplitReader<Element: Sendable>: SplitReader {
    private let feed: any MessageFeed
    private let sourceName: String
    private let source: EventSource<Element>
    private var records: Int64 = 0

    init(feed: any MessageFeed, sourceName: String, source: EventSource<Element>) {
        self.feed = feed
        self.sourceName = sourceName
        self.source = source
    }

    var splitID: String { feed.splitID }

    var position: SplitPosition { SplitPosition(offset: feed.nextOffset, records: records) }

    func seek(to position: SplitPosition) throws {
        try feed.seek(to: position.offset)
        records = position.records
    }

    func poll(into batch: inout RecordBatch<Element>, rejects: inout [RejectedRecord], max: Int) throws -> PollStatus {
        let appendDecoded = source.appendDecoded
        var read: Int64 = 0
        let status = try feed.poll(max: max) { bytes, offset in
            read += 1
            guard let rejection = appendDecoded(bytes, &batch) else { return nil }
            rejects.append(RejectedRecord(
                raw: String(decoding: bytes, as: UTF8.self), reason: rejection.reason, source: sourceName,
                position: feed.describe(offset: offset), receivedAt: Clock.nowMillis()))
            return rejection.reason
        }
        records += read
        switch status {
        case .more: return .more
        case .waiting: return read > 0 ? .more : .waiting
        case .ended: return read > 0 ? .more : .ended
        }
    }

    func prepareCheckpoint(_ id: Int64) async throws { try await feed.prepareCheckpoint(id) }

    func close() { feed.close() }
}
