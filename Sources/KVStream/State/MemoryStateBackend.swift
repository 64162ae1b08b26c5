/// Keyed state in the task's memory: hash tables, no encoding on access. For tests, benchmarks and jobs whose
/// state fits in memory.
public final class MemoryStateBackend: KeyedStateBackend {
    private var tables: [String: AnyObject] = [:]
    public private(set) var tableNames: [String] = []

    public init() {}

    public func valueTable<K: StateKey, N: StateNamespace, V: StateValue>(
        _ name: String, key: K.Type, namespace: N.Type, value: V.Type
    ) -> KeyedValueTable<K, N, V> {
        register(name) { MemoryValueTable<K, N, V>() }
    }

    public func windowTable<K: StateKey, A: StateValue>(_ name: String, key: K.Type, accumulator: A.Type)
        -> WindowTable<K, A>
    {
        register(name) { MemoryWindowTable<K, A>() }
    }

    private func register<T: AnyObject>(_ name: String, _ make: () -> T) -> T {
        if let existing = tables[name] {
            guard let typed = existing as? T else {
                preconditionFailure("state '\(name)' is registered twice with different types")
            }
            return typed
        }
        let table = make()
        tables[name] = table
        tableNames.append(name)
        return table
    }
}

struct StateEntryKey<K: Hashable, N: Hashable>: Hashable {
    var key: K
    var namespace: N
}

final class MemoryValueTable<K: StateKey, N: StateNamespace, V: StateValue>: KeyedValueTable<K, N, V> {
    private var entries: [StateEntryKey<K, N>: V] = [:]

    override func get(_ key: K, _ namespace: N) -> V? { entries[StateEntryKey(key: key, namespace: namespace)] }

    override func put(_ key: K, _ namespace: N, _ value: V) {
        entries[StateEntryKey(key: key, namespace: namespace)] = value
    }

    override func remove(_ key: K, _ namespace: N) {
        entries.removeValue(forKey: StateEntryKey(key: key, namespace: namespace))
    }

    override func update<R>(_ key: K, _ namespace: N, _ body: (inout V?) -> R) -> R {
        body(&entries[StateEntryKey(key: key, namespace: namespace)])
    }

    override func forEach(_ body: (K, N, V) -> Void) {
        for (k, v) in entries { body(k.key, k.namespace, v) }
    }

    override var count: Int { entries.count }
}

final class MemoryWindowTable<K: StateKey, A: StateValue>: WindowTable<K, A> {
    private var byWindow: [TimeWindow: [K: A]] = [:]

    override func update<R>(_ key: K, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        body(&byWindow[window, default: [:]][key])
    }

    override func get(_ key: K, _ window: TimeWindow) -> A? { byWindow[window]?[key] }

    override func forEach(in window: TimeWindow, _ body: (K, A) -> Void) {
        guard let keys = byWindow[window] else { return }
        for (k, a) in keys { body(k, a) }
    }

    override func removeWindow(_ window: TimeWindow) { byWindow.removeValue(forKey: window) }

    override var windows: [TimeWindow] { Array(byWindow.keys) }

    override var count: Int { byWindow.values.reduce(0) { $0 + $1.count } }
}
