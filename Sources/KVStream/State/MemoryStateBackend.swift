/// Keyed state in the task's memory: hash tables, no encoding on access. For tests, benchmarks and jobs whose
/// state fits in memory.
public final class MemoryStateBackend: KeyedStateBackend {
    private var tables: [String: AnyObject] = [:]
    public private(set) var tableNames: [String] = []

    public init() {}

    public func valueTable<K: StateKey, N: StateNamespace, V: StateValue>(
        _ name: String, key: K.Type, namespace: N.Type, value: V.Type
    ) -> KeyedValueTable<K, N, V> {
        register(name) { KeyedValueTable<K, N, V>() }
    }

    public func windowTable<K: StateKey, A: StateValue>(_ name: String, key: K.Type, accumulator: A.Type)
        -> WindowTable<K, A>
    {
        register(name) { WindowTable<K, A>() }
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
