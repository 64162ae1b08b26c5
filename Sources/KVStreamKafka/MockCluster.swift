import CRdKafka
import Foundation
import KVStream

/// librdkafka's mock cluster: Kafka brokers on loopback, inside this process, speaking the Kafka protocol to any
/// client (kcat included). For development and tests (`kvstream broker`); it keeps messages in memory.
public final class MockCluster: @unchecked Sendable {
    // @unchecked: the mock cluster's functions are thread-safe; the handles are immutable.
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    public let bootstrap: String

    public init(brokers: Int) throws {
        let conf = try makeKafkaConf([], context: "mock cluster")
        handle = try makeKafkaHandle(RD_KAFKA_PRODUCER, conf: conf, context: "mock cluster")
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw ConnectorError("cannot start a mock Kafka cluster of \(brokers) broker(s)")
        }
        self.cluster = cluster
        bootstrap = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic (`replication` at most the broker count).
    public func createTopic(_ name: String, partitions: Int, replication: Int = 1) throws {
        let code = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replication))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw ConnectorError("cannot create topic \(name): \(kafkaErrorText(code))")
        }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }
}
