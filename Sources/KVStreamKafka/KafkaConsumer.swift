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
    /// The consumer queue, which the consumer's thread polls; ``close()`` interrupts a poll waiting on it.
    private let queue: OpaquePointer
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
    ///   half in the partition buffers, a quarter in librdkafka's queue, a thirty-second in one fetch response (see
    ///   ``loop()``).
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
             // librdkafka's own queue (for the whole consumer), beside our buffers: a quarter. The consumer's
             // thread drains it as messages arrive, so it only holds what comes in between (see ``loop()``).
             ("queued.max.messages.kbytes", String(bufferBytes / 4 / 1024)),
             // A buffered message keeps its whole fetch response alive: with the default 50 MB responses, a
             // 4 MB budget held ~150 MB of memory. Small responses also keep the job fed: with one fetch in
             // flight per broker, a response of a quarter of the budget (16 MB by default) arrived in bursts
             // after gaps of 20-60 ms in which the job ran dry, and overshot the budget into a pause that dropped
             // it; with a thirty-second (2 MB) the Kafka benchmark's source slept a third as often and read
             // ~10% faster (docs/kafka.md). (At least message.max.bytes, or librdkafka refuses the configuration.)
             ("fetch.max.bytes", String(min(52_428_800, max(1_048_576, bufferBytes / 32)))),
             // A fetch waits at most this long for data at the broker; the partitions resumed meanwhile wait for
             // it to return (librdkafka has one fetch in flight per broker). librdkafka's default, 500 ms, let the
             // buffers run dry while resumed partitions waited.
             ("fetch.wait.max.ms", "100"),
             ("enable.partition.eof", "false")] + properties,
            context: "kafka consumer (group \(group))")
        rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(link).toOpaque())
        (handle, queue) = try makeKafkaConsumer(conf: conf, context: "kafka consumer (group \(group))")
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
            // librdkafka keeps an application's pause across unassign and a later assign: a partition revoked while
            // paused would come back paused, and nothing would resume it. (The failed rebalance drops all.)
            let resume = error == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? paused.intersection(partitions) : paused
            if !resume.isEmpty { change(Array(resume), pause: false) }
            paused.subtract(resume)
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
        let waker = Thread { [self] in
            self.wakeLoop()
            self.finished.signal()
        }
        waker.name = "kafka-waker"
        waker.start()
    }

    /// Backpressure, by pausing partitions. The thread takes every message librdkafka fetched as soon as it arrives,
    /// so that librdkafka's own queue stays nearly empty: librdkafka 2.0 stops fetching a partition once that queue
    /// passes `queued.max.messages.kbytes` and looks again only about once a second, which starved a job that
    /// drained its buffers faster than that (the broker thread is not woken when the application consumes).
    ///
    /// When the partition buffers hold the budget together, every partition is paused (a pause makes librdkafka
    /// drop what it fetched for the partition and not handed over yet, including a fetch response in flight, which
    /// it then fetches again). Once the buffers are down to half the budget, every paused partition resumes at
    /// once, and their leaders' threads are woken to fetch them (``wakeFetcher(_:)``): the buffers swing between
    /// half the budget and all of it, with one pause and one resume per swing. (Resuming each partition as its own
    /// buffer drained made ~2,000 pauses and ~500 resumes in the Kafka benchmark's run over 148 partitions, each
    /// pause dropping what was in flight: 10-15% more CPU per message.) A partition whose reader is stuck (a
    /// restore, a slow run) keeps what it holds; when it holds more than half the budget, the others resume
    /// anyway, each once its buffer is below a quarter of its share, after 100 ms without a resume; they go on
    /// while it holds less than the budget, and are held with it otherwise (its bytes count: not counting them let
    /// paused partitions pin many fetch responses, see docs/kafka.md). The thread polls all along, so it serves
    /// rebalances whatever the job does. The buffers hold at most the budget (half of `bufferBytes`), plus what was
    /// in flight when the partitions were paused: at most librdkafka's queue (a quarter of `bufferBytes`) and one
    /// fetch response (a thirty-second).
    private func loop() {
        let capacity = 1_024
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: capacity)
        var byPartition: [Int32: [PartitionBuffer.Message]] = [:]
        var lastCheck: UInt64 = 0
        var lastResume: UInt64 = 0
        while running.load(ordering: .relaxed) {
            // Waits for one message (not long while paused partitions wait to resume), then takes what else is
            // there without waiting: a batch call with a timeout would hold messages until its batch is full.
            if let first = rd_kafka_consume_queue(queue, paused.isEmpty ? 100 : 2) {
                messages[0] = first
                let more = messages.withUnsafeMutableBufferPointer { buffer in
                    rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, capacity - 1)
                }
                deal(messages, count: 1 + max(0, more), byPartition: &byPartition)
            }
            if budget.bytes >= budget.limit {
                pauseAll()
            } else if !paused.isEmpty {
                // Checked every few milliseconds, not per poll: with many partitions that is many locks.
                let now = Clock.monotonicNanos()
                if now - lastCheck >= 2_000_000 {
                    if budget.bytes <= budget.limit / 2 {
                        resume(Array(paused))
                        lastResume = now
                    } else if now - lastResume >= 100_000_000 && resumeDrained() {
                        lastResume = now
                    }
                    lastCheck = now
                }
            }
        }
    }

    /// Hands fetched messages to their partitions' buffers (consumer thread).
    private func deal(
        _ messages: [UnsafeMutablePointer<rd_kafka_message_t>?], count: Int,
        byPartition: inout [Int32: [PartitionBuffer.Message]]
    ) {
        for i in 0..<count {
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

    /// The buffers hold the budget: pauses every partition not paused yet (consumer thread).
    private func pauseAll() {
        let running = buffers.withLock { Array($0.keys) }.filter { !paused.contains($0) }
        guard !running.isEmpty else { return }
        change(running, pause: true)
        paused.formUnion(running)
        pauses.add(running.count, ordering: .relaxed)
    }

    /// Resumes the paused partitions drained below a quarter of their share of the budget (consumer thread).
    private func resumeDrained() -> Bool {
        let current = buffers.withLock { $0 }
        let quarterShare = budget.limit / max(1, current.count) / 4
        let drained = paused.filter { (current[$0]?.bytes ?? 0) <= quarterShare }
        guard !drained.isEmpty else { return false }
        resume(Array(drained))
        return true
    }

    private func resume(_ partitions: [Int32]) {
        change(partitions, pause: false)
        paused.subtract(partitions)
        wakeFetcher(partitions)
    }

    /// librdkafka 2.0 decides which partitions to fetch only when a broker's thread wakes: on a fetch response, an
    /// operation in its queue, or once a second. A resume is served by librdkafka's main thread and does not wake
    /// it, so with every partition paused (no fetch in flight) the resumed ones waited up to a second for their
    /// fetch while the job starved. Asking their leaders for offsets queues a request on each leader's thread,
    /// which then fetches them at once. (librdkafka 2.4 has `fetch.queue.backoff.ms` for the same stall.)
    private func wakeFetcher(_ partitions: [Int32]) {
        wake.withLock { $0.formUnion(partitions) }
        wakeSignal.signal()
    }

    /// Partitions whose leaders' threads should wake; a thread of its own asks (a blocking request), so that the
    /// consumer's thread goes on draining librdkafka's queue meanwhile.
    private let wake = Locked<Set<Int32>>([])
    private let wakeSignal = DispatchSemaphore(value: 0)

    private func wakeLoop() {
        while running.load(ordering: .relaxed) {
            guard wakeSignal.wait(timeout: .now() + .milliseconds(100)) == .success else { continue }
            let partitions = wake.withLock { all in
                defer { all.removeAll() }
                return all
            }
            guard !partitions.isEmpty else { continue }
            let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for p in partitions {
                rd_kafka_topic_partition_list_add(list, topic, p)?.pointee.offset = Int64(RD_KAFKA_OFFSET_END)
            }
            _ = rd_kafka_offsets_for_times(handle, list, 1_000)
        }
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
        if running.exchange(false, ordering: .relaxed) {
            // Both threads wait up to 100 ms for work: woken now, the close does not wait for their timeouts
            // (84 ms of a benchmark run's 1.2 s went to that).
            rd_kafka_queue_yield(queue)
            wakeSignal.signal()
            finished.wait()
            finished.wait()
        }
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

    deinit {
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(handle)
    }
}
