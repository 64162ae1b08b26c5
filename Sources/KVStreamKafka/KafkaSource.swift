import CRdKafka
import Foundation
import KVStream

/// A Kafka topic as a job's source: one split per partition, read from the buffers a ``KafkaConsumer`` fills.
///
/// Messages whose value the job's format rejects are sent, unchanged (key, value), to the dead-letter topic with
/// the reason in the header `kvstream.reason` and their origin in `kvstream.origin` (`payments/3@1234`).
public struct KafkaSource: ExternalSource {
    public let consumer: KafkaConsumer
    /// The partitions this run reads, in split order.
    public let partitions: [Int32]
    /// With `--bounded`: the end offset of each partition when the run started.
    let endOffsets: [Int32: Int64]
    let deadLetters: DeadLetterTopic?
    let bootstrap: String
    /// Where each checkpoint left each partition, for the group commit once it completes.
    let ledger: OffsetLedger

    init(
        consumer: KafkaConsumer, partitions: [Int32], endOffsets: [Int32: Int64], deadLetters: DeadLetterTopic?,
        bootstrap: String, ledger: OffsetLedger
    ) {
        self.consumer = consumer
        self.partitions = partitions
        self.endOffsets = endOffsets
        self.deadLetters = deadLetters
        self.bootstrap = bootstrap
        self.ledger = ledger
    }

    public var type: String { "kafka" }
    public var summary: String {
        "kafka \(consumer.topic) partitions \(partitions.map(String.init).joined(separator: ",")) at \(bootstrap), "
            + "group \(consumer.group)" + (deadLetters.map { ", dead letters to \($0.topic)" } ?? "")
    }
    /// The cluster and the topic (a partition's checkpoint is only valid for the topic it read).
    public var identity: String { consumer.identity }
    public var splitCount: Int { partitions.count }

    public func makeFeeds(splits: [Int], sourceName: String, bounded: Bool) throws -> [any MessageFeed] {
        try splits.map { split in
            let p = partitions[split]
            guard let buffer = consumer.buffer(p) else {
                throw ConnectorError("source '\(sourceName)': partition \(consumer.topic)/\(p) is not assigned")
            }
            // The restored position comes through seek(to:); the consumer was assigned there already.
            return KafkaPartitionFeed(
                buffer: buffer, end: bounded ? endOffsets[p] : nil, deadLetters: deadLetters, ledger: ledger)
        }
    }

    /// The split id of a partition in checkpoints.
    public static func splitID(topic: String, partition: Int32) -> String { "kafka:\(topic)/\(partition)" }
}

/// Where rejected messages go.
public struct DeadLetterTopic: Sendable {
    public let topic: String
    public let producer: KafkaProducer

    public init(topic: String, producer: KafkaProducer) {
        self.topic = topic
        self.producer = producer
    }
}

/// One partition's messages, in offset order, for one source instance.
final class KafkaPartitionFeed: MessageFeed {
    private let buffer: PartitionBuffer
    private let end: Int64?
    private let deadLetters: DeadLetterTopic?
    private(set) var nextOffset: Int64
    private var taken: [PartitionBuffer.Message] = []
    private let ledger: OffsetLedger
    /// Dead letters the producer's full queue did not take, in order (copies); sent before the feed reads on.
    private var heldBack: [KafkaProducer.HeldMessage] = []

    var heldBackCount: Int { heldBack.count }

    init(buffer: PartitionBuffer, end: Int64?, deadLetters: DeadLetterTopic?, ledger: OffsetLedger) {
        self.buffer = buffer
        nextOffset = 0
        self.ledger = ledger
        self.end = end
        self.deadLetters = deadLetters
        taken.reserveCapacity(BatchSize.default)
    }

    var splitID: String { KafkaSource.splitID(topic: buffer.topic, partition: buffer.partition) }

    func describe(offset: Int64) -> String { "\(buffer.topic)/\(buffer.partition)@\(offset)" }

    /// The consumer was assigned the partition at the restored offset already; messages before it (none, unless the
    /// assignment started earlier) are skipped here.
    func seek(to offset: Int64) throws { nextOffset = offset }

    /// Never blocks: a dead letter that finds the producer's queue full is held back, and the feed reads nothing more
    /// until the held-back ones went (retried at each poll, without waiting, and at the barrier on a thread of its
    /// own). Meanwhile it says `.more`, not `.waiting`, so that the split is not taken for idle while it holds input.
    func poll(max: Int, _ handle: (UnsafeRawBufferPointer, Int64) -> String?) throws -> FeedStatus {
        if !heldBack.isEmpty {
            try sendHeldBack()
            if !heldBack.isEmpty { return .more }
        }
        if let end, nextOffset >= end { return .ended }
        taken.removeAll(keepingCapacity: true)
        buffer.take(max: max, into: &taken)
        guard !taken.isEmpty else { return .waiting }
        defer { taken.forEach { rd_kafka_message_destroy($0) } }
        for message in taken {
            let offset = message.pointee.offset
            guard offset >= nextOffset else { continue }
            if let end, offset >= end { break }
            let value = UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.len)
            if let reason = handle(value, offset), let deadLetters {
                let key = message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) }
                let headers = [("kvstream.reason", reason), ("kvstream.origin", describe(offset: offset))]
                var sent = false
                if heldBack.isEmpty {
                    sent = try deadLetters.producer.produce(
                        topic: deadLetters.topic, key: key, value: value, headers: headers, waitWhenFull: false)
                }
                if !sent {
                    heldBack.append(KafkaProducer.HeldMessage(key: key.map { Array($0) }, value: Array(value), headers: headers))
                }
            }
            nextOffset = offset + 1
        }
        if let end, nextOffset >= end { return .ended }
        return .more
    }

    /// Sends the dead letters still held back (waiting for room: the queue drains as deliveries complete) and waits
    /// until every dead letter is delivered, on a thread of its own.
    func prepareCheckpoint(_ id: Int64) async throws {
        if let deadLetters {
            let (rows, topic, producer) = (heldBack, deadLetters.topic, deadLetters.producer)
            heldBack.removeAll()
            try await offPool("kafka-flush") {
                try producer.send(rows, topic: topic, waitWhenFull: true)
                try producer.flush()
            }
        }
        ledger.record(checkpoint: id, partition: buffer.partition, offset: nextOffset)
    }

    /// Sends what the queue takes now, without waiting.
    private func sendHeldBack() throws {
        guard let deadLetters else { return heldBack.removeAll() }
        let sent = try deadLetters.producer.send(heldBack, topic: deadLetters.topic, waitWhenFull: false)
        heldBack.removeFirst(sent)
    }

    func close() {}
}
