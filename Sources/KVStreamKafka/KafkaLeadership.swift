import CRdKafka
import Foundation
import KVStream
import Synchronization

/// Holds a ``KafkaLeadership`` weakly for the rebalance callback (the handle's opaque pointer).
private final class LeadershipLink: @unchecked Sendable {
    // @unchecked: set once before the handle exists, read on the election's thread.
    weak var leadership: KafkaLeadership?
}

/// librdkafka calls this inside the election consumer's poll, on its thread: a global function.
private func kafkaLeadershipRebalance(
    _ rk: OpaquePointer?, _ error: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let leadership = Unmanaged<LeadershipLink>.fromOpaque(opaque).takeUnretainedValue().leadership
    else {
        rd_kafka_assign(rk, nil)
        return
    }
    leadership.handleRebalance(error, partitions)
}

/// Which node of a group runs a job that cannot be split by input partition (its keys cross partitions): the
/// member of the group `<group>.leader` that the group assigns partition 0 of the topic. The others stand by,
/// and when the leader leaves or dies (after the session timeout), the group gives partition 0 to one of them,
/// which restores the job's latest checkpoint from the shared checkpoint directory and goes on.
///
/// The election consumer never reads: it pauses what it is assigned and only polls to take part in the group.
/// Kafka is the coordinator, as for everything else across machines; there is no fencing of a leader that stalls
/// (longer than the session timeout) and comes back while another has taken over (docs/scale-out.md).
public final class KafkaLeadership: @unchecked Sendable {
    // @unchecked: the handle is thread-safe; `leading` is atomic; the thread's state is its own.
    private let handle: OpaquePointer
    /// The consumer queue the election's thread polls; ``close()`` interrupts a poll waiting on it.
    private let queue: OpaquePointer
    private let link = LeadershipLink()
    /// Whether the election's thread runs (from the end of `init` until ``close()``).
    private let running = Atomic<Bool>(false)
    private let leading = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    public let group: String
    let topic: String

    public init(
        bootstrap: String, group: String, topic: String, properties: [(String, String)], sessionTimeoutMillis: Int
    ) throws {
        self.group = group
        self.topic = topic
        let conf = try makeKafkaConf(
            [("bootstrap.servers", bootstrap), ("group.id", group), ("enable.auto.commit", "false"),
             ("partition.assignment.strategy", "range,roundrobin"),
             ("session.timeout.ms", String(sessionTimeoutMillis)),
             ("heartbeat.interval.ms", String(max(100, sessionTimeoutMillis / 5))),
             ("enable.partition.eof", "false")] + properties,
            context: "kafka leader election (group \(group))")
        rd_kafka_conf_set_rebalance_cb(conf, kafkaLeadershipRebalance)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(link).toOpaque())
        (handle, queue) = try makeKafkaConsumer(conf: conf, context: "kafka leader election (group \(group))")
        link.leadership = self
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        let code = rd_kafka_subscribe(handle, list)
        // Every property is set: a throw from here on runs deinit, which destroys the queue and the handle.
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ConnectorError("cannot join the leader election group \(group): \(kafkaErrorText(code))")
        }
        running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                if let message = rd_kafka_consume_queue(self.queue, 100) { rd_kafka_message_destroy(message) }
            }
            finished.signal()
        }
        thread.name = "kafka-leadership"
        thread.start()
    }

    /// Whether this node leads now.
    public var isLeader: Bool { leading.load(ordering: .relaxed) }

    /// Returns once this node leads (true), or when `stop` is requested first (false).
    public func acquire(stop: StopSignal) async -> Bool {
        while !isLeader {
            if stop.isRequested { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    fileprivate func handleRebalance(
        _ error: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            rd_kafka_assign(handle, list)
            // Nothing is read here: the job's own consumer reads every partition.
            if let list { rd_kafka_pause_partitions(handle, list) }
            var zero = false
            if let list { for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].partition == 0 { zero = true } }
            if zero != leading.load(ordering: .relaxed) {
                kafkaLogger.info(zero ? "this node now leads (group \(group))" : "this node stands by (group \(group))")
            }
            leading.store(zero, ordering: .relaxed)
        default:
            leading.store(false, ordering: .relaxed)
            rd_kafka_assign(handle, nil)
        }
    }

    /// Leaves the group, so that a standby node takes over at once rather than after the session timeout.
    public func close() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        rd_kafka_queue_yield(queue)
        finished.wait()
        rd_kafka_consumer_close(handle)
    }

    deinit {
        close()
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(handle)
    }
}
