/// A namespace of keyed state: ``VoidNamespace`` for plain per-key state, ``TimeWindow`` for window state.
public typealias StateNamespace = BinaryCodable & Hashable & Sendable

/// A state value: encodable so that durable backends (RocksDB) can store it.
public typealias StateValue = BinaryCodable & Sendable

/// The namespace of state that is not scoped to a window.
public struct VoidNamespace: StateNamespace {
    public init() {}
    public func encode(to writer: inout BinaryWriter) {}
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {}
}

/// Where one task instance keeps its keyed state. Backends (memory, RocksDB) hand out typed tables; operators
/// and state handles work against the tables only, so a job runs unchanged on either backend.
public protocol KeyedStateBackend: AnyObject {
    /// A table of one value per (key, namespace), registered under `name` (one column family in RocksDB).
    func valueTable<K: StateKey, N: StateNamespace, V: StateValue>(
        _ name: String, key: K.Type, namespace: N.Type, value: V.Type
    ) -> KeyedValueTable<K, N, V>

    /// A table of window accumulators laid out window-first, so that firing a window visits only its keys.
    func windowTable<K: StateKey, A: StateValue>(_ name: String, key: K.Type, accumulator: A.Type)
        -> WindowTable<K, A>

    /// Names of the tables registered so far (for `describe` and metrics).
    var tableNames: [String] { get }
}

/// One value per (key, namespace). Backends subclass it; operators call through the vtable, never an existential.
open class KeyedValueTable<K: StateKey, N: StateNamespace, V: StateValue> {
    public init() {}

    open func get(_ key: K, _ namespace: N) -> V? { fatalError("subclass must implement") }
    open func put(_ key: K, _ namespace: N, _ value: V) { fatalError("subclass must implement") }
    open func remove(_ key: K, _ namespace: N) { fatalError("subclass must implement") }
    /// Reads, changes and writes back one entry with a single lookup where the backend allows it.
    /// Setting the value to nil removes the entry.
    open func update<R>(_ key: K, _ namespace: N, _ body: (inout V?) -> R) -> R { fatalError("subclass must implement") }
    /// Visits every entry (snapshots, TTL cleanup, tests).
    open func forEach(_ body: (K, N, V) -> Void) { fatalError("subclass must implement") }
    open var count: Int { fatalError("subclass must implement") }
}

/// Window accumulators: `window -> key -> accumulator`.
open class WindowTable<K: StateKey, A: StateValue> {
    public init() {}

    /// Changes one accumulator in place; setting it to nil removes it.
    open func update<R>(_ key: K, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        fatalError("subclass must implement")
    }
    open func get(_ key: K, _ window: TimeWindow) -> A? { fatalError("subclass must implement") }
    /// Visits the accumulators of one window.
    open func forEach(in window: TimeWindow, _ body: (K, A) -> Void) { fatalError("subclass must implement") }
    /// Drops a whole window.
    open func removeWindow(_ window: TimeWindow) { fatalError("subclass must implement") }
    /// The windows that hold state.
    open var windows: [TimeWindow] { fatalError("subclass must implement") }
    open var count: Int { fatalError("subclass must implement") }
}
