import Foundation
import KVStream

/// A sink that sends each row of a table as a JSON message to a Kafka topic (`[sinks.kafka]`, type `kafka`).
///
/// At least once: the idempotent producer retries without duplicating, and each checkpoint barrier waits until
/// every message before it is delivered, so a completed checkpoint never covers an undelivered row; after a
/// failure, rows since the last checkpoint are sent again. Message keys are the row's primary key (its columns'
/// values as text joined by `|`, e.g. the alert id), so consumers can de-duplicate.
public struct KafkaSinkConnector: SinkConnector {
    public let bootstrap: String
    /// Topic per table; a table not named goes to the table's name with `_` as `-` (`fraud_alerts` -> `fraud-alerts`).
    public let topics: [String: String]
    let properties: [(String, String)]
    private let producer: SharedProducer

    /// Reads `[sinks.NAME]`: `bootstrap` (default: that of the topology's Kafka source), optional
    /// `[sinks.NAME.topics]` (table = topic) and `librdkafka` properties.
    public init(name: String, section: Settings, topology: Topology) throws {
        var fallback: String?
        for source in topology.settings.keys(under: "sources")
        where try topology.settings.string("sources.\(source).type") == "kafka" {
            fallback = try topology.settings.string("sources.\(source).bootstrap")
        }
        guard let bootstrap = try section.string("bootstrap") ?? fallback else {
            throw section.error(at: "bootstrap", "is missing (no Kafka source gives one either)")
        }
        self.bootstrap = bootstrap
        var topics: [String: String] = [:]
        if let table = section.table("topics") {
            for (key, _) in table.root.entries { topics[key] = try table.requireString(key) }
        }
        self.topics = topics
        properties = try kafkaProperties(section)
        producer = SharedProducer(bootstrap: bootstrap, properties: properties, context: "sink '\(name)'")
    }

    public var type: String { "kafka" }
    public var summary: String { "Kafka topics at \(bootstrap)" }

    public func topic(table: String) -> String { topics[table] ?? table.replacingOccurrences(of: "_", with: "-") }

    public func location(table: String) -> String { "kafka://\(bootstrap)/\(topic(table: table))" }

    public func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        let producer = try producer.get()
        producer.report(to: metrics)
        return KafkaSinkWriter(producer: producer, topic: topic(table: table), schema: schema)
    }

    /// Nothing to undo: messages sent after the restored checkpoint stay in the topic (at least once).
    public func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {}
}

/// One producer per connector, made on first use (a job that never writes the sink never connects).
final class SharedProducer: Sendable {
    private let bootstrap: String
    private let properties: [(String, String)]
    private let context: String
    private let made = Locked<KafkaProducer?>(nil)

    init(bootstrap: String, properties: [(String, String)], context: String) {
        self.bootstrap = bootstrap
        self.properties = properties
        self.context = context
    }

    func get() throws -> KafkaProducer {
        try made.withLock { producer in
            if let producer { return producer }
            let new = try KafkaProducer(bootstrap: bootstrap, properties: properties, context: context)
            producer = new
            return new
        }
    }
}

/// Writes rows as messages without ever blocking the task's thread: when the producer's local queue is full, rows
/// are held back (a copy) and sent by ``finishPending()`` on a thread of its own, which the task awaits before it
/// reads more input; at each barrier the producer is flushed there too.
final class KafkaSinkWriter: AsyncSinkWriter {
    private let producer: KafkaProducer
    private let topic: String
    private var encoder: JSONRowEncoder
    /// Rows the full queue did not take, in order.
    private var heldBack: [KafkaProducer.HeldMessage] = []
    private var flushDue = false

    init(producer: KafkaProducer, topic: String, schema: TableSchema) {
        self.producer = producer
        self.topic = topic
        encoder = JSONRowEncoder(columns: schema.columns.map(\.name), keyColumns: schema.primaryKey)
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        for row in rows {
            encoder.buffer.removeAll(keepingCapacity: true)
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow()
            let key = encoder.rowKey
            // Without the newline the JSON-lines encoder ends rows with.
            let value = encoder.buffer.dropLast()
            if heldBack.isEmpty {
                let sent = try value.withUnsafeBytes { value in
                    try key.withUnsafeBytes { key in
                        try producer.produce(topic: topic, key: key.isEmpty ? nil : key, value: value, waitWhenFull: false)
                    }
                }
                if sent { continue }
            }
            heldBack.append(KafkaProducer.HeldMessage(key: key.isEmpty ? nil : Array(key), value: Array(value)))
        }
    }

    var hasPendingWork: Bool { flushDue || !heldBack.isEmpty }

    /// Nothing to stage: the rows are on their way to the topic; ``finishPending()`` waits for them.
    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        flushDue = true
        return []
    }

    /// Sends the rows held back (waiting for room in the queue), then at a barrier waits until every row written so
    /// far is delivered: on a thread of its own, as both block.
    func finishPending() async throws {
        let (producer, topic, rows, flush) = (producer, topic, heldBack, flushDue)
        heldBack.removeAll()
        flushDue = false
        try await offPool("kafka-flush") {
            try producer.send(rows, topic: topic, waitWhenFull: true)
            if flush { try producer.flush() }
        }
    }

    func close() throws {}
}
