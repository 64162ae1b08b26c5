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

/// One value per (key, namespace), held in the task's memory.
///
/// - Important: a `final` class on purpose. Operators call it from code the compiler specializes for the job's
///   concrete key and value types; a subclassable table would be reached through its vtable, whose generic
///   implementations run unspecialized (measured: most of the time went to generic metadata lookups). A durable
///   backend puts a byte-level store behind this table rather than subclassing it.
public final class KeyedValueTable<K: StateKey, N: StateNamespace, V: StateValue> {
    @usableFromInline var entries: [StateEntryKey<K, N>: V] = [:]

    public init() {}

    @inlinable public func get(_ key: K, _ namespace: N) -> V? { entries[StateEntryKey(key: key, namespace: namespace)] }

    @inlinable public func put(_ key: K, _ namespace: N, _ value: V) {
        entries[StateEntryKey(key: key, namespace: namespace)] = value
    }

    @inlinable public func remove(_ key: K, _ namespace: N) {
        entries.removeValue(forKey: StateEntryKey(key: key, namespace: namespace))
    }

    /// Reads, changes and writes back one entry with a single lookup; setting the value to nil removes it.
    @inlinable public func update<R>(_ key: K, _ namespace: N, _ body: (inout V?) -> R) -> R {
        body(&entries[StateEntryKey(key: key, namespace: namespace)])
    }

    /// Visits every entry (snapshots, TTL cleanup, tests).
    public func forEach(_ body: (K, N, V) -> Void) {
        for (k, v) in entries { body(k.key, k.namespace, v) }
    }

    public var count: Int { entries.count }
}

/// The key of one entry of a ``KeyedValueTable``.
public struct StateEntryKey<K: Hashable, N: Hashable>: Hashable {
    public var key: K
    public var namespace: N

    @inlinable public init(key: K, namespace: N) {
        self.key = key
        self.namespace = namespace
    }
}

/// Window accumulators, laid out `window -> key -> accumulator` so that firing a window visits only its keys.
///
/// - Important: `final` for the same reason as ``KeyedValueTable``.
public final class WindowTable<K: StateKey, A: StateValue> {
    @usableFromInline var byWindow: [TimeWindow: [K: A]] = [:]

    public init() {}

    /// Changes one accumulator in place; setting it to nil removes it.
    @inlinable public func update<R>(_ key: K, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        body(&byWindow[window, default: [:]][key])
    }

    @inlinable public func get(_ key: K, _ window: TimeWindow) -> A? { byWindow[window]?[key] }

    /// Visits the accumulators of one window.
    public func forEach(in window: TimeWindow, _ body: (K, A) -> Void) {
        guard let keys = byWindow[window] else { return }
        for (k, a) in keys { body(k, a) }
    }

    /// Drops a whole window.
    public func removeWindow(_ window: TimeWindow) { byWindow.removeValue(forKey: window) }

    /// The windows that hold state.
    public var windows: [TimeWindow] { Array(byWindow.keys) }

    public var count: Int { byWindow.values.reduce(0) { $0 + $1.count } }
}
