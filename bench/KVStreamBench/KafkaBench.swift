import CRdKafka
import Foundation
import KVStream
import KVStreamJobs
import KVStreamKafka
import KVStreamPayments
import KVStreamTesting
import Logging
import Synchronization

/// (c) Kafka -> keyBy customer -> 1-minute tumbling count and sum -> discard, beside librdkafka's own consume rate
/// over the same topic in the same process: what the job (JSON decoding, watermarks, the window, the runtime around
/// them) costs on top of fetching the messages.
///
/// The broker is librdkafka's mock cluster, in this process: it shares the two cores with the consumer and the job,
/// as a broker on another machine would not. Both rates count from the first message seen to the last one, so that
/// neither includes connecting and the first fetch; ``Figures/startSeconds`` reports that time apart. The job reads
/// all partitions through a static assignment (its key is global), so there is no group join to wait for.
enum KafkaBench {
    /// One read of the whole topic.
    struct Figures: Sendable {
        /// From the start of the run to the first message seen.
        var startSeconds: Double
        /// From the first message seen to the last.
        var seconds: Double
        /// Messages read in ``seconds`` (those of the first fetch are seen at the start, so they do not count).
        var messages: Int
        /// CPU time of the whole process (broker, librdkafka and job threads) in ``seconds``.
        var cpuSeconds: Double
        var rate: Double { Double(messages) / seconds }
        /// Microseconds of CPU per message: steadier than the rate on a noisy machine, and what bounds the rate
        /// once both cores are busy.
        var cpuMicrosPerMessage: Double { cpuSeconds * 1e6 / Double(messages) }
    }

    /// A topic on a one-broker mock cluster, alive as long as this is.
    struct Topic {
        let cluster: MockCluster
        let name: String
        let partitions: Int
        let messages: Int
        var bootstrap: String { cluster.bootstrap }
    }

    /// Sends `events` as JSON messages keyed by customer_id, as `kvstream gen payments --topic` does, and waits
    /// until all are delivered.
    ///
    /// The mock broker keeps only the newest 5 MiB of each partition (a constant of librdkafka's rdkafka_mock.c)
    /// and drops older messages without a word, so the topic gets one partition per 3 MiB of messages, at least 4
    /// (``rawConsume(_:)`` checks that nothing was dropped). It also answers a fetch with at most one message set
    /// per partition: the producer lingers 100 ms to make big ones, or the broker would be the bottleneck.
    static func produce(_ events: ArraySlice<(value: Payment, timestamp: Int64)>) throws -> Topic {
        var bytes = 0
        forEachMessage(events) { key, value in bytes += key.count + value.count }
        let partitions = max(4, bytes / (3 << 20) + 1)
        let name = "payments"
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic(name, partitions: partitions)
        let producer = try KafkaProducer(
            bootstrap: cluster.bootstrap, properties: [("linger.ms", "100")], context: "bench producer")
        try forEachMessage(events) { key, value in try producer.produce(topic: name, key: key, value: value) }
        try producer.flush(timeout: .seconds(120))
        producer.close()
        return Topic(cluster: cluster, name: name, partitions: partitions, messages: events.count)
    }

    private static func forEachMessage(
        _ events: ArraySlice<(value: Payment, timestamp: Int64)>,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var buffer: [UInt8] = []
        for (payment, _) in events {
            buffer.removeAll(keepingCapacity: true)
            payment.appendJSON(to: &buffer)
            var key = payment.customerId
            try key.withUTF8 { key in try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(key), $0) } }
        }
    }

    /// librdkafka alone, on a thread of its own: a consumer with every partition assigned from the beginning counts
    /// the messages `rd_kafka_consume_batch_queue` returns until it has seen them all, destroying each.
    static func rawConsume(_ topic: Topic) async throws -> Figures {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try rawConsumeBlocking(topic) }) }.start()
        }
    }

    private static func rawConsumeBlocking(_ topic: Topic) throws -> Figures {
        let start = Clock.monotonicNanos()
        guard let conf = rd_kafka_conf_new() else { throw BenchError("raw consumer: cannot allocate a configuration") }
        var error = [CChar](repeating: 0, count: 512)
        for (key, value) in [("bootstrap.servers", topic.bootstrap), ("group.id", "bench-raw-\(UUID())"),
                             ("enable.auto.commit", "false"),
                             ("queued.max.messages.kbytes", "2097151")]
        where rd_kafka_conf_set(conf, key, value, &error, error.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw BenchError("raw consumer: \(key)=\(value): \(text(error))")
        }
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            throw BenchError("raw consumer: \(text(error))")
        }
        defer { rd_kafka_destroy(handle) }
        // Like the job, which reads the partition count and end offsets first: connected before assigning.
        try checkNothingDropped(topic, handle: handle)
        rd_kafka_poll_set_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(Int32(topic.partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in 0..<Int32(topic.partitions) {
            rd_kafka_topic_partition_list_add(list, topic.name, p)?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let code = rd_kafka_assign(handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw BenchError("raw consumer: cannot assign: \(String(cString: rd_kafka_err2str(code)))")
        }
        guard let queue = rd_kafka_queue_get_consumer(handle) else { throw BenchError("raw consumer: no queue") }
        defer { rd_kafka_queue_destroy(queue) }
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: 4_096)
        var seen = 0
        var first: (nanos: UInt64, seen: Int, cpu: Double)?
        while seen < topic.messages {
            let n = rd_kafka_consume_batch_queue(queue, 100, &messages, messages.count)
            for i in 0..<max(0, n) {
                guard let message = messages[i] else { continue }
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { seen += 1 }
                rd_kafka_message_destroy(message)
            }
            if first == nil && seen > 0 { first = (Clock.monotonicNanos(), seen, Bench.processCPUSeconds()) }
        }
        let end = Clock.monotonicNanos()
        let cpu = Bench.processCPUSeconds()
        rd_kafka_consumer_close(handle)
        return Figures(startSeconds: Double(first!.nanos - start) / 1e9, seconds: Double(end - first!.nanos) / 1e9,
                       messages: topic.messages - first!.seen, cpuSeconds: cpu - first!.cpu)
    }

    /// Throws unless every partition still starts at offset 0 and the topic holds every message sent.
    private static func checkNothingDropped(_ topic: Topic, handle: OpaquePointer) throws {
        var total: Int64 = 0
        for p in 0..<Int32(topic.partitions) {
            var low: Int64 = 0
            var high: Int64 = 0
            let code = rd_kafka_query_watermark_offsets(handle, topic.name, p, &low, &high, 10_000)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw BenchError("raw consumer: offsets of partition \(p): \(String(cString: rd_kafka_err2str(code)))")
            }
            guard low == 0 else {
                throw BenchError("the mock broker dropped the first \(low) messages of partition \(p) (5 MiB limit)")
            }
            total += high
        }
        guard total == topic.messages else {
            throw BenchError("the topic holds \(total) messages, not the \(topic.messages) sent")
        }
    }

    private static func text(_ error: [CChar]) -> String {
        String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The job of ``TumblingBench`` on the topic: payments decoded from JSON by the jobs' own ``paymentEvents``,
    /// keyed by customer across all partitions (one run over every partition), memory state.
    static let job = JobDefinition(name: "bench-kafka", summary: "") { job in
        job.source("payments", paymentEvents, watermarks: paymentWatermarks)
            .keyBy("customer_id", scope: .global) { $0.customerId }
            .window(TumblingWindows.of(.minutes(1)))
            .aggregate("count-sum", CountSumCents()) { _, _, acc in WindowRow(count: acc.0, sum: acc.1) }
            .sink("out", table: "windows")
    }

    /// Runs ``job`` bounded through ``KafkaJobRun``, with a consumer group of its own; the sink keeps only each
    /// table's row count and column sums. The first message seen is the first one the job's metrics count.
    static func runJob(_ topic: Topic, parallelism: Int) async throws -> (result: TumblingBench.Result, figures: Figures) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let toml = """
            [job]
            parallelism = \(parallelism)
            [sources.payments]
            type = "kafka"
            bootstrap = "\(topic.bootstrap)"
            topic = "\(topic.name)"
            group = "bench-kafka-\(UUID())"
            dlq_topic = ""
            [sinks.out]
            type = "memory"
            [checkpoint]
            dir = "\(scratch)/checkpoints"
            [state]
            backend = "memory"
            dir = "\(scratch)/state"
            """
        let topology = Topology(settings: try Settings.parse(toml: toml, origin: "bench topology"), origin: "bench")
        let store = RowStore(keepRows: false)
        var connectors = ConnectorRegistry()
        connectors.registerSink(type: "memory") { _, _, _ in CollectingSinkConnector(store: store) }
        let plan = try PhysicalPlan(graph: try job.logicalGraph(), defaultParallelism: parallelism,
                                    maxParallelism: try topology.maxParallelism())
        var options = JobRunOptions()
        options.bounded = true
        options.restore = .none
        var logger = Logger(label: "kvstream.bench")
        logger.logLevel = .error
        let metrics = JobMetrics()
        let run = try KafkaJobRun(plan: plan, topology: topology, connectors: connectors, options: options,
                                  metrics: metrics, logger: logger)
        let start = Clock.monotonicNanos()
        let watcher = FirstRecords(metrics)
        do {
            try await run.run()
        } catch {
            _ = watcher.stop()
            throw error
        }
        let end = Clock.monotonicNanos()
        let cpu = Bench.processCPUSeconds()
        guard let first = watcher.stop() else { throw BenchError("kafka job: no record read") }
        let sums = store.columnSums("windows")
        let result = TumblingBench.Result(
            rows: store.rowCount("windows"), count: sums.first ?? 0, sum: sums.dropFirst().first ?? 0)
        return (result, Figures(startSeconds: Double(first.nanos - start) / 1e9, seconds: Double(end - first.nanos) / 1e9,
                                messages: topic.messages - first.seen, cpuSeconds: cpu - first.cpu))
    }
}

/// When a job's metrics first count records, and how many: watched from a thread of its own, since the job keeps
/// the cooperative pool busy.
private final class FirstRecords: Sendable {
    private let nanos = Atomic<UInt64>(0)
    private let seen = Atomic<Int>(0)
    /// The process's CPU seconds then, as the bits of the `Double`.
    private let cpu = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(_ metrics: JobMetrics) {
        Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                let count = metrics.recordsIn.load(ordering: .relaxed)
                if count > 0 {
                    nanos.store(Clock.monotonicNanos(), ordering: .relaxed)
                    cpu.store(Bench.processCPUSeconds().bitPattern, ordering: .relaxed)
                    seen.store(count, ordering: .relaxed)
                    break
                }
                usleep(100)
            }
            exited.signal()
        }.start()
    }

    /// Stops watching; the time and count of the first records, if there were any.
    func stop() -> (nanos: UInt64, seen: Int, cpu: Double)? {
        stopped.store(true, ordering: .relaxed)
        exited.wait()
        let count = seen.load(ordering: .relaxed)
        return count > 0 ? (nanos.load(ordering: .relaxed), count, Double(bitPattern: cpu.load(ordering: .relaxed))) : nil
    }
}
