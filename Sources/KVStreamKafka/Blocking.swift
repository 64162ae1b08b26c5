import Foundation

/// Runs a blocking call (librdkafka's, or one that waits for them) on a thread of its own, so that it never
/// holds one of the cooperative pool's few threads (DESIGN.md, Connectors).
func offPool<T: Sendable>(_ name: String = "kafka-call", _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.name = name
        thread.start()
    }
}

/// Waits for an async operation from a thread that may block (the consumer's, inside a rebalance).
func awaitBlocking<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await operation()
        done.signal()
    }
    done.wait()
    return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {
    // @unchecked: written once before the semaphore is signalled, read after it is waited for.
    var value: T?
}
