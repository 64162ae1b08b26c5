import CRdKafka
import Foundation
import KVStream
import Logging

/// librdkafka's own log lines, at a level that keeps its chatter (every failed commit during a rebalance, every
/// reconnect) out of the way: syslog levels 0-3 are errors, 4 warnings, the rest debug.
let kafkaLogger = Logger(label: "kvstream.kafka")

/// librdkafka calls this on its own threads, so it is a global function (NATIVE-NOTES: a closure literal written on
/// the main actor and handed to C crashes when another thread calls it).
private func logFromKafka(
    _ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>?
) {
    let text = "\(facility.map { String(cString: $0) } ?? ""): \(buffer.map { String(cString: $0) } ?? "")"
    switch level {
    case ...3: kafkaLogger.error("\(text)")
    case 4: kafkaLogger.warning("\(text)")
    default: kafkaLogger.debug("\(text)")
    }
}

/// Builds a librdkafka configuration; the caller owns the result until `rd_kafka_new` takes it.
func makeKafkaConf(_ properties: [(String, String)], context: String) throws -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw ConnectorError("\(context): cannot allocate a configuration") }
    var error = [CChar](repeating: 0, count: 512)
    for (key, value) in properties where rd_kafka_conf_set(conf, key, value, &error, error.count) != RD_KAFKA_CONF_OK {
        rd_kafka_conf_destroy(conf)
        throw ConfigError("\(context): Kafka property \(key)=\(value): \(String(cString: error))")
    }
    rd_kafka_conf_set_log_cb(conf, logFromKafka)
    return conf
}

/// Creates a client from a configuration it takes over.
func makeKafkaHandle(_ type: rd_kafka_type_t, conf: OpaquePointer, context: String) throws -> OpaquePointer {
    var error = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &error, error.count) else {
        rd_kafka_conf_destroy(conf)
        throw ConnectorError("\(context): cannot create a Kafka client: \(String(cString: error))")
    }
    return handle
}

/// Creates a consumer from a configuration it takes over, with its main queue redirected to the consumer queue, and
/// returns that queue too: the one its thread polls, and whose poll `rd_kafka_queue_yield` interrupts on close. The
/// caller destroys the queue before the handle.
func makeKafkaConsumer(conf: OpaquePointer, context: String) throws -> (handle: OpaquePointer, queue: OpaquePointer) {
    let handle = try makeKafkaHandle(RD_KAFKA_CONSUMER, conf: conf, context: context)
    rd_kafka_poll_set_consumer(handle)
    guard let queue = rd_kafka_queue_get_consumer(handle) else {
        rd_kafka_destroy(handle)
        throw ConnectorError("\(context): librdkafka has no consumer queue")
    }
    return (handle, queue)
}

/// `rd_kafka_err2str` as a Swift string.
func kafkaErrorText(_ code: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(code)) }

/// Extra librdkafka properties of a source or sink section: its `librdkafka` table flattened to dotted names
/// (`librdkafka.security.protocol = "SSL"` -> `security.protocol`), and `sasl.password` from the environment
/// variable that `sasl_password_env` names (secrets never sit in topology files).
func kafkaProperties(_ section: Settings) throws(ConfigError) -> [(String, String)] {
    var properties = passThroughProperties(section)
    if let variable = try section.string("sasl_password_env") {
        guard let secret = ProcessInfo.processInfo.environment[variable] else {
            throw section.error(at: "sasl_password_env", "names \(variable), which is not set")
        }
        properties.append(("sasl.password", secret))
    }
    return properties
}

private func passThroughProperties(_ section: Settings) -> [(String, String)] {
    func flatten(_ table: ConfigTable, prefix: String) -> [(String, String)] {
        table.entries.flatMap { key, value -> [(String, String)] in
            let name = prefix.isEmpty ? key : prefix + "." + key
            switch value {
            case .table(let inner): return flatten(inner, prefix: name)
            case .string(let text): return [(name, text)]
            case .integer(let number): return [(name, String(number))]
            case .float(let number): return [(name, String(number))]
            case .boolean(let flag): return [(name, flag ? "true" : "false")]
            default: return []
            }
        }
    }
    guard let table = section.table("librdkafka") else { return [] }
    return flatten(table.root, prefix: "")
}

/// A topic's partition count, from the cluster's metadata (blocking: call it off the cooperative pool).
func partitionCount(handle: OpaquePointer, topic: String, timeoutMillis: Int32 = 10_000) throws -> Int {
    guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
        throw ConnectorError("topic \(topic): \(kafkaErrorText(rd_kafka_last_error()))")
    }
    defer { rd_kafka_topic_destroy(rkt) }
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let code = rd_kafka_metadata(handle, 0, rkt, &metadata, timeoutMillis)
    guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
        throw ConnectorError("cannot read the metadata of topic \(topic): \(kafkaErrorText(code)) (is the broker up?)")
    }
    defer { rd_kafka_metadata_destroy(metadata) }
    guard metadata.pointee.topic_cnt == 1 else { throw ConnectorError("topic \(topic) is not in the cluster's metadata") }
    let entry = metadata.pointee.topics[0]
    guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        throw ConnectorError("topic \(topic): \(kafkaErrorText(entry.err)) (create it, or start kvstream broker --topic \(topic):6)")
    }
    return Int(entry.partition_cnt)
}
