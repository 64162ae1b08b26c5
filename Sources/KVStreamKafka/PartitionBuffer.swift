import CRdKafka
import Synchronization

/// Messages of one partition between the consumer's thread, which fetches them, and the source instance that
/// decodes them. Bounded: past its share of the consumer's byte budget the consumer pauses the partition (Kafka
/// keeps the rest), and resumes it once the source has drained the buffer below a quarter of that, so a slow job
/// holds a bounded amount of input in memory whatever the topic holds.
final class PartitionBuffer: Sendable {
    typealias Message = UnsafeMutablePointer<rd_kafka_message_t>

    let topic: String
    let partition: Int32

    private struct Queue {
        var messages: [Message] = []
        var head = 0
        var closed = false
        /// Payload and key bytes buffered.
        var bytes = 0
        var count: Int { messages.count - head }
    }

    // The pointers are owned by the buffer until taken; librdkafka's message destroy is thread-safe.
    private let queue = Locked<Queue>(Queue())

    init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Bytes of the buffered messages' payloads and keys.
    var bytes: Int { queue.withLock { $0.bytes } }

    static func size(_ message: Message) -> Int { message.pointee.len + message.pointee.key_len + 64 }

    /// Appends fetched messages (the consumer's thread); a closed buffer destroys them instead. Returns the bytes
    /// buffered now.
    @discardableResult
    func append(_ messages: [Message]) -> Int {
        let (rejected, bytes): ([Message]?, Int) = queue.withLock { q in
            if q.closed { return (messages, 0) }
            q.messages.append(contentsOf: messages)
            for message in messages { q.bytes += Self.size(message) }
            return (nil, q.bytes)
        }
        rejected?.forEach { rd_kafka_message_destroy($0) }
        return bytes
    }

    /// Takes up to `max` messages, oldest first (the source's task); the caller destroys them.
    func take(max: Int, into out: inout [Message]) {
        queue.withLock { q in
            let n = min(max, q.count)
            guard n > 0 else { return }
            for message in q.messages[q.head..<(q.head + n)] {
                q.bytes -= Self.size(message)
                out.append(message)
            }
            q.head += n
            if q.head == q.messages.count {
                q.messages.removeAll(keepingCapacity: true)
                q.head = 0
            } else if q.head > 4_096 && q.head * 2 > q.messages.count {
                q.messages.removeFirst(q.head)
                q.head = 0
            }
        }
    }

    /// Destroys what is buffered and refuses what comes later (the partition was revoked).
    func close() {
        let left: [Message] = queue.withLock { q in
            q.closed = true
            let rest = Array(q.messages[q.head...])
            q.messages = []
            q.head = 0
            q.bytes = 0
            return rest
        }
        left.forEach { rd_kafka_message_destroy($0) }
    }
}
