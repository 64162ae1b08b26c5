import Foundation

/// A value behind a lock, for values that are not `Sendable` (C pointers) but are only touched under the lock.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: every access goes through `withLock`.
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
