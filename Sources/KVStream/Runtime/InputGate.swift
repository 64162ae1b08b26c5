import Synchronization

/// The inbox of one task instance: one bounded queue per upstream channel, read by the task's loop.
///
/// Each upstream task instance owns one input of the gate and is its only sender. A sender whose queue is full
/// suspends until the task takes an event from it (credit-based backpressure: nothing is dropped, memory stays
/// bounded by `inputs * capacity` events). An input can be blocked, so that barrier alignment stops reading it
/// while the others are drained. Processing-time ticks arrive out of band and never queue up.
public final class InputGate<Element: Sendable>: Sendable {
    public enum Item: Sendable {
        case event(input: Int, StreamEvent<Element>)
        case tick
    }

    private struct State: ~Copyable {
        var queues: [RingBuffer<StreamEvent<Element>>]
        var blocked: [Bool]
        var waitingSenders: [UnsafeContinuation<Void, Never>?]
        var waitingReceiver: UnsafeContinuation<Void, Never>?
        var tickPending = false
        var cursor = 0

        mutating func popReady() -> (Int, StreamEvent<Element>)? {
            let n = queues.count
            for step in 0..<n {
                let i = (cursor + step) % n
                if !blocked[i], let event = queues[i].popFirst() {
                    cursor = (i + 1) % n
                    return (i, event)
                }
            }
            return nil
        }

        var hasReady: Bool {
            queues.indices.contains { !blocked[$0] && !queues[$0].isEmpty }
        }
    }

    private let state: Mutex<State>
    /// Events a queue holds before its sender suspends.
    public let capacity: Int
    public let inputCount: Int

    public init(inputs: Int, capacity: Int = 8) {
        precondition(inputs > 0 && capacity > 0)
        self.capacity = capacity
        self.inputCount = inputs
        state = Mutex(
            State(
                queues: (0..<inputs).map { _ in RingBuffer(capacity: capacity) },
                blocked: Array(repeating: false, count: inputs),
                waitingSenders: Array(repeating: nil, count: inputs)
            )
        )
    }

    /// Enqueues an event from `input`, suspending while that input's queue is full; returns whether it had to
    /// wait (backpressure).
    @discardableResult
    public func send(_ event: StreamEvent<Element>, input: Int) async -> Bool {
        var waited = false
        while true {
            let (sent, receiver) = state.withLock { s -> (Bool, UnsafeContinuation<Void, Never>?) in
                guard s.queues[input].count < capacity else { return (false, nil) }
                s.queues[input].append(event)
                defer { s.waitingReceiver = nil }
                return (true, s.waitingReceiver)
            }
            if sent {
                receiver?.resume()
                return waited
            }
            waited = true
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.queues[input].count < capacity { return true }
                    s.waitingSenders[input] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// The next event from any unblocked input (round robin), or a pending tick; suspends while there is none.
    public func next() async -> Item {
        while true {
            let (item, sender) = state.withLock { s -> (Item?, UnsafeContinuation<Void, Never>?) in
                if let (input, event) = s.popReady() {
                    defer { s.waitingSenders[input] = nil }
                    return (.event(input: input, event), s.waitingSenders[input])
                }
                if s.tickPending {
                    s.tickPending = false
                    return (.tick, nil)
                }
                return (nil, nil)
            }
            if let item {
                sender?.resume()
                return item
            }
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.hasReady || s.tickPending { return true }
                    s.waitingReceiver = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Asks the task to look at processing time; coalesces with a tick not yet taken.
    public func tick() {
        let receiver = state.withLock { s -> UnsafeContinuation<Void, Never>? in
            s.tickPending = true
            defer { s.waitingReceiver = nil }
            return s.waitingReceiver
        }
        receiver?.resume()
    }

    /// Stops or resumes reading one input (barrier alignment).
    public func setBlocked(_ blocked: Bool, input: Int) {
        let receiver = state.withLock { s -> UnsafeContinuation<Void, Never>? in
            s.blocked[input] = blocked
            guard !blocked, s.hasReady else { return nil }
            defer { s.waitingReceiver = nil }
            return s.waitingReceiver
        }
        receiver?.resume()
    }

    /// Events queued over all inputs (for metrics: a full gate means backpressure).
    public var queuedEvents: Int { state.withLock { s in s.queues.reduce(0) { $0 + $1.count } } }
}
