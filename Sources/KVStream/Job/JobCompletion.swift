import Synchronization

/// Waits for a job's task instances: returns when all finished, throws as soon as one failed.
final class JobCompletion: Sendable {
    private struct State {
        var remaining: Int
        var failure: (any Error)?
        var waiter: CheckedContinuation<Void, any Error>?
    }

    private let state: Mutex<State>

    init(instances: Int) { state = Mutex(State(remaining: instances)) }

    func finished() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            s.remaining -= 1
            guard s.remaining == 0, s.failure == nil else { return nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func failed(_ error: any Error) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            guard s.failure == nil else { return nil }
            s.failure = error
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: error)
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { s -> Result<Void, any Error>? in
                if let failure = s.failure { return .failure(failure) }
                if s.remaining == 0 { return .success(()) }
                s.waiter = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}
