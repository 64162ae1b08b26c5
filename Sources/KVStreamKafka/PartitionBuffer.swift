import CRdKafka
import Synchronization

/// The bytes that all of a consumer's partition buffers hold together, against its budget.
final class ByteBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var bytes: Int { used.load(ordering: .relaxed) }
    func add(_ n: Int) { used.add(n, ordering: .relaxed) }
}

/// Messages of one partition between the consumer's thread, which fetches them, and the source instance that
/// decodes them. The consumer stops taking messages from librdkafka while its partitions hold its byte budget
/// together (see ``KafkaConsumer``), so a slow job holds a bounded amount of input whatever the topic holds.
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

    private let budget: ByteBudget

    init(topic: String, partition: Int32, budget: ByteBudget) {
        self.topic = topic
        self.partition = partition
        self.budget = budget
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
            var added = 0
            for message in messages { added += Self.size(message) }
            q.bytes += added
            budget.add(added)
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
            var removed = 0
            for message in q.messages[q.head..<(q.head + n)] {
                removed += Self.size(message)
                out.append(message)
            }
            q.bytes -= removed
            budget.add(-removed)
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
            budget.add(-q.bytes)
            q.bytes = 0
            return rest
        }
        left.forEach { rd_kafka_message_destroy($0) }
    }
}
