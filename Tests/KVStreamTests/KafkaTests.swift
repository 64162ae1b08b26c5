import CRdKafka
import Foundation
import Testing

@testable import KVStream
@testable import KVStreamJobs
@testable import KVStreamKafka

/// The Kafka pieces against librdkafka's real mock cluster (in this process), and the scoping that lets a job run
/// per input partition.
@Suite struct KafkaTests {
    @Test func fraudDetectionScalesOutAndAggregationsDoNot() throws {
        #expect(try fraudDetection.logicalGraph().keysStayInInputPartitions)
        let aggregations = try realtimeAggregations.logicalGraph()
        #expect(!aggregations.keysStayInInputPartitions)
        #expect(aggregations.globalKeys.contains { $0.contains("merchant_id") })
    }

    @Test func outputsBelongToTheirScopeOnly() throws {
        #expect(JSONLinesSinkConnector.instance("3", isIn: nil))
        #expect(!JSONLinesSinkConnector.instance("p3.0", isIn: nil))
        #expect(JSONLinesSinkConnector.instance("p3.0", isIn: "p3"))
        #expect(!JSONLinesSinkConnector.instance("p31.0", isIn: "p3"))
        #expect(!JSONLinesSinkConnector.instance("0", isIn: "p3"))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-scope-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = JSONLinesSinkConnector(directory: dir)
        try FileManager.default.createDirectory(atPath: dir + "/t", withIntermediateDirectories: true)
        let names = ["part-p3.0-2.jsonl", "part-p3.0-5.jsonl", "part-p3.1-4.jsonl", ".part-p3.0-6.jsonl.pending",
                     "part-p31.0-9.jsonl", "part-p4.0-9.jsonl", "part-0-9.jsonl", ".part-p4.0-6.jsonl.pending"]
        for name in names { FileManager.default.createFile(atPath: dir + "/t/" + name, contents: Data()) }
        try sink.recover(table: "t", restoredCheckpoint: 3, scope: "p3")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/t"))
        #expect(left == ["part-p3.0-2.jsonl", "part-p31.0-9.jsonl", "part-p4.0-9.jsonl", "part-0-9.jsonl",
                         ".part-p4.0-6.jsonl.pending"])
    }

    @Test func ledgerReportsCompletedCheckpointsOnce() {
        let ledger = OffsetLedger()
        ledger.record(checkpoint: 1, partition: 0, offset: 10)
        ledger.record(checkpoint: 2, partition: 0, offset: 20)
        ledger.record(checkpoint: 2, partition: 1, offset: 7)
        ledger.record(checkpoint: SplitReaderCheckpoint.final, partition: 0, offset: 25)
        #expect(ledger.take(upTo: 2, final: false) == [0: 20, 1: 7])
        #expect(ledger.take(upTo: 2, final: false) == [:])
        #expect(ledger.take(upTo: 3, final: true) == [0: 25])
    }

    /// A reader far slower than the topic, which also stops reading for a while: the consumer holds no more than
    /// its byte budget instead of buffering the topic, pausing the partitions whenever the buffers are full (and
    /// polling all along, so that it keeps serving the group), resumes them as the reader drains, and every message
    /// arrives once, in order.
    @Test func slowReaderIsHeldWithinBudgetAndLosesNothing() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("bp", partitions: 2)
        let producer = try KafkaProducer(bootstrap: cluster.bootstrap)
        let count = 20_000
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        for i in 0..<count {
            var key = "k\(i % 97)"
            try key.withUTF8 { key in
                try payload.withUnsafeBytes {
                    try producer.produce(topic: "bp", key: UnsafeRawBufferPointer(key), value: $0)
                }
            }
        }
        try producer.flush()
        producer.close()

        let budget = 2 << 20  // half of it for the partition buffers, a quarter each for librdkafka's queue and a fetch
        let consumer = try KafkaConsumer(
            bootstrap: cluster.bootstrap, group: "bp-test", topic: "bp", bufferBytes: budget)
        defer { consumer.close() }
        try consumer.assign([0: nil, 1: nil])
        var next: [Int32: Int64] = [0: 0, 1: 0]
        var read = 0
        var peak = 0
        var stalled = false
        var taken: [PartitionBuffer.Message] = []
        let deadline = Date().addingTimeInterval(60)
        while read < count && Date() < deadline {
            if !stalled && read >= count / 4 {
                // The reader stops: the buffers fill and the consumer pauses the partitions.
                Thread.sleep(forTimeInterval: 2.5)
                #expect(consumer.pauses.load(ordering: .relaxed) > 0, "a stalled reader paused no partition")
                stalled = true
            }
            peak = max(peak, (consumer.buffer(0)?.bytes ?? 0) + (consumer.buffer(1)?.bytes ?? 0))
            for p: Int32 in [0, 1] {
                guard let buffer = consumer.buffer(p) else { continue }
                taken.removeAll(keepingCapacity: true)
                buffer.take(max: 200, into: &taken)
                for message in taken {
                    #expect(message.pointee.offset == next[p], "partition \(p) out of order")
                    next[p] = message.pointee.offset + 1
                    rd_kafka_message_destroy(message)
                }
                read += taken.count
            }
            usleep(2_000)  // ~100k messages/s at most: far slower than the fetcher
        }
        #expect(read == count)
        // The buffers' half, and what was in flight when the partitions were paused (librdkafka's queue and one
        // fetch response of at least 1 MB, librdkafka's minimum), and one poll (1,024 messages of 264 counted
        // bytes) on top.
        #expect(peak < budget / 2 + budget / 4 + (1 << 20) + 1_024 * 264,
                "the partitions buffered \(peak) bytes, beyond the consumer's budget")
    }

    /// The sink never blocks its task's thread: with a producer whose local queue takes 20 messages, writing 2,000
    /// rows holds most of them back (write returns at once), and `finishPending` sends them and flushes, off the
    /// pool; every row arrives once, in order.
    @Test func sinkHoldsRowsBackWhenTheProducersQueueIsFull() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("out", partitions: 1)
        let producer = try KafkaProducer(
            bootstrap: cluster.bootstrap, properties: [("queue.buffering.max.messages", "20")], context: "test")
        let writer = KafkaSinkWriter(producer: producer, topic: "out", schema: PGTestLine.schema)
        let count = 2_000
        try writer.write((0..<count).map { PGTestLine(text: "line \($0)") })
        #expect(writer.hasPendingWork, "a queue of 20 took 2,000 rows")
        _ = try writer.prepareCommit(checkpointID: 1)
        try await writer.finishPending()
        #expect(!writer.hasPendingWork)

        let texts = try readValues(cluster, topic: "out", count: count, until: Date().addingTimeInterval(30))
        #expect(texts == (0..<count).map { "{\"text\":\"line \($0)\"}" })
    }

    /// The source never blocks on dead letters either: with a dead-letter producer whose queue takes 20 messages,
    /// rejected messages are held back while it is full (polls return at once and read nothing more meanwhile), the
    /// barrier sends the rest, and every dead letter arrives once, in order.
    @Test func deadLettersAreHeldBackWhenTheProducersQueueIsFull() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("in", partitions: 1)
        try cluster.createTopic("dlq", partitions: 1)
        let count = 500
        let input = try KafkaProducer(bootstrap: cluster.bootstrap)
        for i in 0..<count {
            var text = "bad \(i)"
            try text.withUTF8 { try input.produce(topic: "in", key: nil, value: UnsafeRawBufferPointer($0)) }
        }
        try input.flush()
        input.close()
        let consumer = try KafkaConsumer(bootstrap: cluster.bootstrap, group: "dlq-test", topic: "in")
        defer { consumer.close() }
        try consumer.assign([0: nil])
        let dlq = try KafkaProducer(
            bootstrap: cluster.bootstrap, properties: [("queue.buffering.max.messages", "20")], context: "test")
        let feed = KafkaPartitionFeed(
            buffer: consumer.buffer(0)!, end: Int64(count), deadLetters: DeadLetterTopic(topic: "dlq", producer: dlq),
            ledger: OffsetLedger())
        var heldBack = 0
        let deadline = Date().addingTimeInterval(30)
        while feed.nextOffset < Int64(count) && Date() < deadline {
            _ = try feed.poll(max: 200) { _, _ in "not a payment" }
            heldBack = max(heldBack, feed.heldBackCount)
            usleep(1_000)
        }
        #expect(feed.nextOffset == Int64(count))
        #expect(heldBack > 0, "a queue of 20 never filled")
        try await feed.prepareCheckpoint(1)
        #expect(feed.heldBackCount == 0)

        // A deadline of its own: on a loaded machine the reads above once used up the shared one, and this read
        // got nothing (the test took 34.6 s; every check before this read had passed).
        let texts = try readValues(cluster, topic: "dlq", count: count, until: Date().addingTimeInterval(30))
        #expect(texts == (0..<count).map { "bad \($0)" })
    }

    /// A partition revoked while paused comes back unpaused: librdkafka keeps an application's pause across
    /// unassign and assign, so the consumer resumes what it paused before giving partitions up. A slow reader fills
    /// the budget (every partition paused), a second member joins, and the first must still read its partition to
    /// the end after the rebalance.
    @Test func partitionsPausedAtARebalanceAreReadAfterIt() throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("rb", partitions: 2)
        let producer = try KafkaProducer(bootstrap: cluster.bootstrap)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        for i in 0..<20_000 {
            var key = "k\(i)"
            try key.withUTF8 { key in
                try payload.withUnsafeBytes { try producer.produce(topic: "rb", key: UnsafeRawBufferPointer(key), value: $0) }
            }
        }
        try producer.flush()
        producer.close()

        let first = try KafkaConsumer(
            bootstrap: cluster.bootstrap, group: "rb-test", topic: "rb", bufferBytes: 2 << 20, sessionTimeoutMillis: 6_000)
        defer { first.close() }
        let ends = try first.endOffsets([0, 1])
        let handler = ResumingHandler()
        try first.subscribe(handler: handler)
        let deadline = Date().addingTimeInterval(60)
        // Nothing is read until the budget is full and every partition paused.
        while first.pauses.load(ordering: .relaxed) < 2 && Date() < deadline { usleep(10_000) }
        #expect(first.pauses.load(ordering: .relaxed) >= 2, "the partitions were not paused")
        let second = try KafkaConsumer(
            bootstrap: cluster.bootstrap, group: "rb-test", topic: "rb", bufferBytes: 2 << 20, sessionTimeoutMillis: 6_000)
        defer { second.close() }
        let idle = IdleHandler()
        try second.subscribe(handler: idle)
        // After the rebalance the first member keeps one partition; it must read it to its end.
        var taken: [PartitionBuffer.Message] = []
        while Date() < deadline {
            let mine = handler.assignedNow
            if mine.count == 1, let p = mine.first, handler.next(p) >= ends[p]! { break }
            for p in mine {
                guard let buffer = first.buffer(p) else { continue }
                taken.removeAll(keepingCapacity: true)
                buffer.take(max: 500, into: &taken)
                for message in taken {
                    handler.read(p, offset: message.pointee.offset)
                    rd_kafka_message_destroy(message)
                }
            }
            usleep(2_000)
        }
        let mine = handler.assignedNow
        #expect(mine.count == 1, "the first member holds \(mine) after the second joined")
        if let p = mine.first { #expect(handler.next(p) == ends[p]!, "partition \(p) read to \(handler.next(p)) of \(ends[p]!)") }
    }
}

/// The values of partition 0 of `topic`, as text, until `count` arrived or the deadline passed.
private func readValues(_ cluster: MockCluster, topic: String, count: Int, until deadline: Date) throws -> [String] {
    let reader = try KafkaConsumer(bootstrap: cluster.bootstrap, group: "\(topic)-read", topic: topic)
    defer { reader.close() }
    try reader.assign([0: nil])
    var texts: [String] = []
    var taken: [PartitionBuffer.Message] = []
    while texts.count < count && Date() < deadline {
        taken.removeAll(keepingCapacity: true)
        reader.buffer(0)?.take(max: 500, into: &taken)
        for message in taken {
            let value = UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.len)
            texts.append(String(decoding: value, as: UTF8.self))
            rd_kafka_message_destroy(message)
        }
        if taken.isEmpty { usleep(5_000) }
    }
    return texts
}

/// Assigns each partition at the offset after the last one read, and tracks what is assigned now.
final class ResumingHandler: KafkaAssignmentHandler, @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var offsets: [Int32: Int64] = [:]
    private var assigned: Set<Int32> = []

    func assigned(_ partitions: [Int32]) -> [Int32: Int64] {
        lock.withLock {
            assigned.formUnion(partitions)
            return offsets.filter { partitions.contains($0.key) }
        }
    }

    func revoked(_ partitions: [Int32]) { lock.withLock { assigned.subtract(partitions) } }
    var assignedNow: Set<Int32> { lock.withLock { assigned } }
    func read(_ p: Int32, offset: Int64) { lock.withLock { offsets[p] = max(offsets[p] ?? 0, offset + 1) } }
    func next(_ p: Int32) -> Int64 { lock.withLock { offsets[p] ?? 0 } }
}

final class IdleHandler: KafkaAssignmentHandler, @unchecked Sendable {
    func assigned(_ partitions: [Int32]) -> [Int32: Int64] { [:] }
    func revoked(_ partitions: [Int32]) {}
}
