import CRdKafka
import Foundation
import KVStream
import Synchronization

/// Told by the consumer's thread, synchronously, when the group gives or takes partitions.
public protocol KafkaAssignmentHandler: AnyObject, Sendable {
    /// Partitions were assigned: returns, for each, the offset to start at (nil: the beginning). May block (it
    /// prepares the partitions' runs); the group waits for the assignment meanwhile.
    func assigned(_ partitions: [Int32]) -> [Int32: Int64]
    /// Partitions are taken away: returns once nothing reads them any more. May block.
    func revoked(_ partitions: [Int32])
}

/// Holds the consumer weakly for the rebalance callback (the handle's opaque pointer).
private final class ConsumerLink: @unchecked Sendable {
    // @unchecked: set once before the handle exists, read on the consumer's thread.
    weak var consumer: KafkaConsumer?
}

/// librdkafka calls this from inside the consumer's poll, on the consumer's own thread: a global function.
private func kafkaRebalanceCallback(
    _ rk: OpaquePointer?, _ error: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let consumer = Unmanaged<ConsumerLink>.fromOpaque(opaque).takeUnretainedValue().consumer else {
        rd_kafka_assign(rk, nil)
        return
    }
    consumer.handleRebalance(error, partitions)
}

/// A member of the job's consumer group for one topic.
///
/// A thread of its own polls the consumer queue (librdkafka's calls block), answers rebalances there, and deals
/// the fetched messages to one ``PartitionBuffer`` per assigned partition, which source instances read without
/// blocking. Offsets are not auto-committed: they live in checkpoints, and ``commit(_:)`` reports completed
/// checkpoints' offsets to the group for lag monitoring only.
public final class KafkaConsumer: @unchecked Sendable {
    // @unchecked: the handle is thread-safe; mutable state is behind locks or touched by the consumer thread only.
    let handle: OpaquePointer
    public let topic: String
    public let group: String
    private let link = ConsumerLink()
    private let buffers = Locked<[Int32: PartitionBuffer]>([:])
    private let handler = Mutex<(any KafkaAssignmentHandler)?>(nil)
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Bytes all partition buffers may hold together before the consumer stops taking messages.
    private let budget: ByteBudget
    /// Partitions paused for backpressure (consumer thread only).
    private var paused: Set<Int32> = []
    public let pauses = Atomic<Int>(0)
    /// The offsets last reported to the group, sent again synchronously when the consumer closes.
    private let committed = Locked<[Int32: Int64]>([:])

    /// - Parameter bufferBytes: how many bytes of fetched messages may wait for the job, across all partitions:
    ///   half in librdkafka's prefetch queue, half in the partition buffers (see ``loop()``).
    public init(
        bootstrap: String, group: String, topic: String, properties: [(String, String)] = [],
        bufferBytes: Int = 64 << 20, sessionTimeoutMillis: Int = 10_000
    ) throws {
        self.topic = topic
        self.group = group
        let bufferBytes = max(2 << 20, bufferBytes)
        budget = ByteBudget(limit: bufferBytes / 2)
        let conf = try makeKafkaConf(
            [("bootstrap.servers", bootstrap), ("group.id", group), ("enable.auto.commit", "false"),
             ("enable.auto.offset.store", "false"), ("auto.offset.reset", "earliest"),
             // Eager assignors: the cooperative one reports revoked partitions as lost on librdkafka 2.0.
             ("partition.assignment.strategy", "range,roundrobin"),
             ("session.timeout.ms", String(sessionTimeoutMillis)),
             ("heartbeat.interval.ms", String(max(100, sessionTimeoutMillis / 5))),
             // librdkafka's own prefetch (for the whole consumer queue), beside our buffers: the other half.
             ("queued.max.messages.kbytes", String(bufferBytes / 2 / 1024)),
             // A buffered message keeps its whole fetch response alive: with the default 50 MB responses, a
             // 4 MB budget held ~150 MB of memory; responses of a quarter of the budget keep it near the budget.
             // (At least message.max.bytes, or librdkafka refuses the configuration.)
             ("fetch.max.bytes", String(min(52_428_800, max(1_048_576, bufferBytes / 4)))),
             ("enable.partition.eof", "false")] + properties,
            context: "kafka consumer (group \(group))")
        rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(link).toOpaque())
        handle = try makeKafkaHandle(RD_KAFKA_CONSUMER, conf: conf, context: "kafka consumer (group \(group))")
        rd_kafka_poll_set_consumer(handle)
        link.consumer = self
    }

    /// The topic's partition count (blocking).
    public func partitionCount() throws -> Int { try KVStreamKafka.partitionCount(handle: handle, topic: topic) }

    private let cluster = Locked<String?>(nil)

    /// The cluster's id (blocking the first time): checkpoints record it, so that offsets of one cluster are never
    /// used on another that has a topic of the same name.
    public func clusterID() throws -> String {
        if let id = cluster.withLock({ $0 }) { return id }
        guard let raw = rd_kafka_clusterid(handle, 10_000) else {
            throw ConnectorError("cannot read the Kafka cluster's id at \(topic)'s brokers (is the broker up?)")
        }
        let id = String(cString: raw)
        rd_kafka_mem_free(handle, raw)
        cluster.withLock { $0 = id }
        return id
    }

    /// The source identity checkpoints record: the cluster and the topic (after ``clusterID()`` was read).
    var identity: String { "kafka cluster \((try? clusterID()) ?? "?") topic \(topic)" }

    /// The end (high watermark) offset of each partition now (blocking).
    public func endOffsets(_ partitions: [Int32], timeoutMillis: Int32 = 10_000) throws -> [Int32: Int64] {
        var result: [Int32: Int64] = [:]
        for p in partitions {
            var low: Int64 = 0
            var high: Int64 = 0
            let code = rd_kafka_query_watermark_offsets(handle, topic, p, &low, &high, timeoutMillis)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw ConnectorError("cannot read the end offset of \(topic)/\(p): \(kafkaErrorText(code))")
            }
            result[p] = high
        }
        return result
    }

    /// The buffer of an assigned partition.
    func buffer(_ partition: Int32) -> PartitionBuffer? { buffers.withLock { $0[partition] } }

    /// Joins the group: partitions come and go through `handler`. Starts the consumer thread.
    public func subscribe(handler: any KafkaAssignmentHandler) throws {
        self.handler.withLock { $0 = handler }
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        let code = rd_kafka_subscribe(handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ConnectorError("cannot subscribe to \(topic): \(kafkaErrorText(code))")
        }
        start()
    }

    /// Reads the given partitions from the given offsets (nil: the beginning), without group management (a job
    /// that must see every partition in one run). The group still receives ``commit(_:)``s. Starts the thread.
    public func assign(_ offsets: [Int32: Int64?]) throws {
        for p in offsets.keys { makeBuffer(p) }
        let code = assignList(offsets)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ConnectorError("cannot assign partitions of \(topic): \(kafkaErrorText(code))")
        }
        start()
    }

    private func makeBuffer(_ partition: Int32) {
        let buffer = PartitionBuffer(topic: topic, partition: partition, budget: budget)
        buffers.withLock { $0[partition] = buffer }
    }

    private func assignList(_ offsets: [Int32: Int64?]) -> rd_kafka_resp_err_t {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (p, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            let entry = rd_kafka_topic_partition_list_add(list, topic, p)
            entry?.pointee.offset = offset ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        return rd_kafka_assign(handle, list)
    }

    /// On the consumer thread, inside a poll.
    fileprivate func handleRebalance(_ error: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        var partitions: [Int32] = []
        if let list {
            for i in 0..<Int(list.pointee.cnt) { partitions.append(list.pointee.elems[i].partition) }
        }
        let handler = self.handler.withLock { $0 }
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            kafkaLogger.info("assigned \(topic) partitions \(partitions.sorted()) (group \(group))")
            for p in partitions { makeBuffer(p) }
            let offsets = handler?.assigned(partitions) ?? [:]
            let code = assignList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, offsets[$0]) }))
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                kafkaLogger.error("cannot take the assignment of \(topic): \(kafkaErrorText(code))")
            }
        default:
            if error == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
                kafkaLogger.info("revoked \(topic) partitions \(partitions.sorted()) (group \(group))")
            } else {
                kafkaLogger.warning("rebalance of \(topic) failed: \(kafkaErrorText(error)); dropping the assignment")
            }
            handler?.revoked(partitions)
            let removed = buffers.withLock { all in partitions.compactMap { all.removeValue(forKey: $0) } }
            removed.forEach { $0.close() }
            paused.subtract(partitions)
            rd_kafka_assign(handle, nil)
        }
    }

    private func start() {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in
            self.loop()
            self.finished.signal()
        }
        thread.name = "kafka-consumer"
        thread.start()
    }

    /// How long the buffers may stay full before the partitions holding them are paused.
    static let stallNanos: UInt64 = 1_000_000_000

    /// Backpressure. While the buffers of the partitions that are not paused hold the byte budget together, the
    /// thread stops taking messages from librdkafka, whose own queue is bounded (`queued.max.messages.kbytes`):
    /// fetching then stops by itself, and resumes without any refetch when the job takes messages again. A job
    /// that is merely slower than the topic is held back this way alone.
    ///
    /// Not polling also means not serving rebalances, so when the buffers stay full for ``stallNanos`` (the job
    /// has stopped reading: a stuck sink, a restore, a slow partition run), the partitions holding at least their
    /// share are paused and polling goes on for the others; a paused partition resumes once drained below a
    /// quarter of its share. The paused partitions keep what they hold while the others fill the budget again, so
    /// the buffers hold at most twice the budget (and one poll). Pausing makes librdkafka drop what it prefetched for the partition and fetch it again
    /// on resume, which is why it is kept for stalls: pausing at every full buffer thrashed with many partitions
    /// (each share smaller than one fetch).
    private func loop() {
        // Small enough that one poll overshoots the budget by little.
        let capacity = 1_024
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: capacity)
        var byPartition: [Int32: [PartitionBuffer.Message]] = [:]
        guard let queue = rd_kafka_queue_get_consumer(handle) else { return }
        defer { rd_kafka_queue_destroy(queue) }
        var lastCheck: UInt64 = 0
        var fullSince: UInt64?
        while running.load(ordering: .relaxed) {
            let now = Clock.monotonicNanos()
            // Paused partitions are checked for resumption every few milliseconds, not per poll: with many
            // partitions that is many locks.
            if !paused.isEmpty && now - lastCheck >= 2_000_000 {
                resumeDrained()
                lastCheck = now
            }
            if heldBytes() >= budget.limit {
                if let since = fullSince {
                    if now - since >= Self.stallNanos {
                        pauseHolders()
                        fullSince = nil
                    }
                } else {
                    fullSince = now
                }
                usleep(500)
                continue
            }
            fullSince = nil
            // Waits for one message at most 100 ms, then takes what else is there without waiting: a batch call
            // with a timeout would hold messages until its batch is full or the timeout passes.
            guard let first = rd_kafka_consume_queue(queue, 100) else { continue }
            messages[0] = first
            let more = messages.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, capacity - 1)
            }
            let n = 1 + max(0, more)
            for i in 0..<n {
                guard let message = messages[i] else { continue }
                if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if message.pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        kafkaLogger.warning("consuming \(topic): \(kafkaErrorText(message.pointee.err))")
                    }
                    rd_kafka_message_destroy(message)
                    continue
                }
                byPartition[message.pointee.partition, default: []].append(message)
            }
            let current = buffers.withLock { $0 }
            for (p, list) in byPartition where !list.isEmpty {
                if let buffer = current[p] {
                    buffer.append(list)
                } else {
                    list.forEach { rd_kafka_message_destroy($0) }
                }
                byPartition[p]!.removeAll(keepingCapacity: true)
            }
        }
    }

    /// The bytes buffered by the partitions that are not paused (consumer thread).
    private func heldBytes() -> Int {
        let total = budget.bytes
        guard !paused.isEmpty else { return total }
        let current = buffers.withLock { $0 }
        var pausedBytes = 0
        for p in paused { pausedBytes += current[p]?.bytes ?? 0 }
        return total - pausedBytes
    }

    /// The buffers have been full for a while: pauses the partitions holding at least their share of the budget
    /// (there is one at least, since together they hold it all).
    private func pauseHolders() {
        let current = buffers.withLock { $0 }
        let share = budget.limit / max(1, current.count)
        let holders = current.filter { !paused.contains($0.key) && $0.value.bytes >= share }.map(\.key)
        guard !holders.isEmpty else { return }
        kafkaLogger.debug("the job has not read \(topic) for a while: pausing partitions \(holders.sorted())")
        change(holders, pause: true)
        paused.formUnion(holders)
        pauses.add(holders.count, ordering: .relaxed)
    }

    /// Resumes the paused partitions drained below a quarter of their share (consumer thread).
    private func resumeDrained() {
        let current = buffers.withLock { $0 }
        let share = budget.limit / max(1, current.count)
        let resume = paused.filter { (current[$0]?.bytes ?? 0) <= share / 4 }
        guard !resume.isEmpty else { return }
        change(Array(resume), pause: false)
        paused.subtract(resume)
    }

    private func change(_ partitions: [Int32], pause: Bool) {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in partitions { rd_kafka_topic_partition_list_add(list, topic, p) }
        let code = pause ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            kafkaLogger.warning("cannot \(pause ? "pause" : "resume") \(topic) \(partitions): \(kafkaErrorText(code))")
        }
    }

    /// Reports offsets (the next offset to read, per partition) to the group, asynchronously. Failures, common
    /// during rebalances, are harmless: the next checkpoint commits again.
    public func commit(_ offsets: [Int32: Int64]) {
        guard !offsets.isEmpty else { return }
        committed.withLock { $0.merge(offsets) { _, newer in newer } }
        commit(offsets, async: true)
    }

    private func commit(_ offsets: [Int32: Int64], async: Bool) {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (p, offset) in offsets { rd_kafka_topic_partition_list_add(list, topic, p)?.pointee.offset = offset }
        let code = rd_kafka_commit(handle, list, async ? 1 : 0)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            kafkaLogger.debug("commit to group \(group) failed: \(kafkaErrorText(code))")
        }
    }

    /// Leaves the group (revoking what is assigned, through the handler) and stops the thread.
    public func close() {
        if running.exchange(false, ordering: .relaxed) { finished.wait() }
        // Serves the final revoke on this thread: the handler stops the partitions' runs first (their final
        // checkpoints commit their offsets asynchronously).
        handler.withLock { $0 }?.revoked(buffers.withLock { Array($0.keys) })
        // The last offsets, synchronously: an asynchronous commit may not leave before the consumer closes.
        let last = committed.withLock { $0 }
        if !last.isEmpty { commit(last, async: false) }
        rd_kafka_consumer_close(handle)
        buffers.withLock { all in
            all.values.forEach { $0.close() }
            all.removeAll()
        }
    }

    deinit { rd_kafka_destroy(handle) }
}
