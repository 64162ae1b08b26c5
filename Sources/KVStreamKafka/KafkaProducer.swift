import CRdKafka
import Foundation
import KVStream
import Synchronization

/// What delivery reports tell: counted on librdkafka's thread, read by the producer's users.
final class DeliveryCounters: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let lastError = Mutex<String?>(nil)
    /// Jobs whose metrics count this producer's failed deliveries (`kvstream_kafka_delivery_failures_total`).
    let metrics = Mutex<[ObjectIdentifier: JobMetrics]>([:])
}

/// Delivery reports arrive on the producer's poll thread: a global function, state through the opaque pointer.
private func deliveryReport(_ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque, let message else { return }
    let counters = Unmanaged<DeliveryCounters>.fromOpaque(opaque).takeUnretainedValue()
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        counters.delivered.add(1, ordering: .relaxed)
    } else {
        counters.failed.add(1, ordering: .relaxed)
        let text = kafkaErrorText(message.pointee.err)
        counters.lastError.withLock { $0 = text }
        for metrics in counters.metrics.withLock({ Array($0.values) }) {
            metrics.count("kvstream_kafka_delivery_failures_total")
        }
    }
}

/// An idempotent producer: librdkafka retries failed sends without duplicating or reordering them; what still
/// fails after its retries (`message.timeout.ms`) is counted and makes the next ``flush(timeout:)`` throw.
///
/// `produce` never blocks for long (it waits only while librdkafka's queue is full); a thread of its own serves the
/// delivery reports. `flush` blocks, and is called at checkpoint barriers.
public final class KafkaProducer: @unchecked Sendable {
    // @unchecked: librdkafka handles are thread-safe; the topic handle cache is behind a lock.
    let handle: OpaquePointer
    private let counters = DeliveryCounters()
    private let running = Atomic<Bool>(true)
    private let topics = Locked<[String: OpaquePointer]>([:])
    private let done = DispatchSemaphore(value: 0)
    /// Failures already reported by a flush.
    private let reportedFailures = Atomic<Int>(0)

    public var delivered: Int { counters.delivered.load(ordering: .relaxed) }

    /// Counts this producer's failed deliveries in `metrics` too.
    public func report(to metrics: JobMetrics) {
        counters.metrics.withLock { $0[ObjectIdentifier(metrics)] = metrics }
    }
    public var failed: Int { counters.failed.load(ordering: .relaxed) }

    /// - Parameter properties: librdkafka properties laid over the defaults (idempotence, murmur2 partitioning as
    ///   Kafka's Java clients do, so that other producers keyed the same way agree on partitions).
    public init(bootstrap: String, properties: [(String, String)] = [], context: String = "kafka producer") throws {
        let conf = try makeKafkaConf(
            [("bootstrap.servers", bootstrap), ("enable.idempotence", "true"), ("linger.ms", "5"),
             ("partitioner", "murmur2_random"), ("message.timeout.ms", "60000"),
             // A bounded local queue: when the cluster is slow or away, `produce` waits (backpressure) instead
             // of holding up to librdkafka's default 1 GB.
             ("queue.buffering.max.kbytes", "65536")] + properties,
            context: context)
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(counters).toOpaque())
        handle = try makeKafkaHandle(RD_KAFKA_PRODUCER, conf: conf, context: context)
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) { rd_kafka_poll(handle, 100) }
            done.signal()
        }
        thread.name = "kafka-producer"
        thread.start()
    }

    /// Sends one message; `key` nil for none. Headers are copied. While the local queue is full it waits (blocking)
    /// for room, or with `waitWhenFull` false returns false at once.
    @discardableResult
    public func produce(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, headers: [(String, String)] = [],
        waitWhenFull: Bool = true
    ) throws -> Bool {
        let rkt = try topicHandle(topic)
        while true {
            var fields: [rd_kafka_vu_t] = []
            var field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_RKT
            field.u.rkt = rkt
            fields.append(field)
            if let key, let base = key.baseAddress {
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_KEY
                field.u.mem.ptr = UnsafeMutableRawPointer(mutating: base)
                field.u.mem.size = key.count
                fields.append(field)
            }
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_VALUE
            field.u.mem.ptr = value.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
            field.u.mem.size = value.count
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
            field.u.i = RD_KAFKA_MSG_F_COPY
            fields.append(field)
            var headerList: OpaquePointer?
            if !headers.isEmpty {
                headerList = rd_kafka_headers_new(headers.count)
                for (name, text) in headers {
                    rd_kafka_header_add(headerList, name, -1, text, text.utf8.count)
                }
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_HEADERS
                field.u.headers = headerList
                fields.append(field)
            }
            let error = rd_kafka_produceva(handle, &fields, fields.count)
            guard let error else { return true }  // the message owns the headers now
            let code = rd_kafka_error_code(error)
            let text = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            if let headerList { rd_kafka_headers_destroy(headerList) }
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw ConnectorError("cannot send to Kafka topic \(topic): \(text)")
            }
            // The local queue is full: the poll thread drains it as deliveries complete.
            guard waitWhenFull else { return false }
            usleep(1_000)
        }
    }

    /// A message kept in memory because the local queue was full when it was first produced (a copy of its bytes).
    public struct HeldMessage: Sendable {
        public var key: [UInt8]?
        public var value: [UInt8]
        public var headers: [(String, String)]

        public init(key: [UInt8]?, value: [UInt8], headers: [(String, String)] = []) {
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    /// Sends held messages in order; returns how many went (all of them when `waitWhenFull`, else up to the first
    /// one the full queue refused).
    @discardableResult
    public func send(_ messages: [HeldMessage], topic: String, waitWhenFull: Bool) throws -> Int {
        for (i, message) in messages.enumerated() {
            let sent = try message.value.withUnsafeBytes { value in
                guard let key = message.key else {
                    return try produce(topic: topic, key: nil, value: value, headers: message.headers, waitWhenFull: waitWhenFull)
                }
                return try key.withUnsafeBytes {
                    try produce(topic: topic, key: $0, value: value, headers: message.headers, waitWhenFull: waitWhenFull)
                }
            }
            if !sent { return i }
        }
        return messages.count
    }

    /// Waits until everything sent so far is delivered; throws when something could not be delivered (since the
    /// last flush) or the wait times out, so that the checkpoint this belongs to fails and its input is replayed.
    public func flush(timeout: Duration = .seconds(30)) throws {
        let millis = Int32(clamping: TimeSpan(timeout).milliseconds)
        let code = rd_kafka_flush(handle, millis)
        let failed = counters.failed.load(ordering: .relaxed)
        let previously = reportedFailures.exchange(failed, ordering: .relaxed)
        if failed > previously {
            let reason = counters.lastError.withLock { $0 } ?? "unknown error"
            throw ConnectorError("\(failed - previously) Kafka message(s) could not be delivered: \(reason)")
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ConnectorError("Kafka messages still undelivered after \(timeout): \(kafkaErrorText(code)) (is the broker up?)")
        }
    }

    private func topicHandle(_ topic: String) throws -> OpaquePointer {
        try topics.withLock { cache in
            if let rkt = cache[topic] { return rkt }
            guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
                throw ConnectorError("Kafka topic \(topic): \(kafkaErrorText(rd_kafka_last_error()))")
            }
            cache[topic] = rkt
            return rkt
        }
    }

    /// Flushes what is pending (for up to `timeout`) and stops the poll thread.
    public func close(timeout: Duration = .seconds(10)) {
        guard running.exchange(false, ordering: .relaxed) else { return }
        rd_kafka_flush(handle, Int32(clamping: TimeSpan(timeout).milliseconds))
        done.wait()
    }

    deinit {
        close()
        topics.withLock { cache in for rkt in cache.values { rd_kafka_topic_destroy(rkt) } }
        rd_kafka_destroy(handle)
    }
}
