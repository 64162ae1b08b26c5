/// Keyed state in the task's memory: hash tables, no encoding on access. For tests, benchmarks and jobs whose
/// state fits in memory.
public final class MemoryStateBackend: KeyedStateBackend {
    private var tables: [String: any SnapshottableTable] = [:]
    public private(set) var tableNames: [String] = []
    /// State restored from a checkpoint, loaded into each table when an operator registers it.
    var restored: RestoredState?
    private(set) var restoreErrors: [String] = []

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

    private func register<T: SnapshottableTable>(_ name: String, _ make: () -> T) -> T {
        if let existing = tables[name] {
            guard let typed = existing as? T else {
                preconditionFailure("state '\(name)' is registered twice with different types")
            }
            return typed
        }
        let table = make()
        if let restored {
            do {
                try table.restore(name, from: restored)
            } catch {
                restoreErrors.append("state '\(name)': \(error)")
            }
        }
        tables[name] = table
        tableNames.append(name)
        return table
    }

    /// Adds every table's entries to a checkpoint, each tagged with its key's key group.
    func snapshot(into builder: SnapshotBuilder) throws {
        if let problem = restoreErrors.first { throw ConnectorError("restoring keyed state failed: \(problem)") }
        for name in tableNames { tables[name]?.snapshot(name, into: builder) }
    }
}

/// A state table that can be written into a checkpoint and filled back from one.
protocol SnapshottableTable: AnyObject {
    func snapshot(_ name: String, into builder: SnapshotBuilder)
    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError)
}

extension KeyedValueTable: SnapshottableTable {
    func snapshot(_ name: String, into builder: SnapshotBuilder) {
        for (k, v) in entries { builder.addKeyed(name, key: k.key, namespace: k.namespace, value: v) }
    }

    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError) {
        for (k, n, v) in try restored.keyedEntries(name, key: K.self, namespace: N.self, value: V.self) {
            entries[StateEntryKey(key: k, namespace: n)] = v
        }
    }
}

extension WindowTable: SnapshottableTable {
    func snapshot(_ name: String, into builder: SnapshotBuilder) {
        for (window, keys) in byWindow {
            for (k, a) in keys { builder.addKeyed(name, key: k, namespace: window, value: a) }
        }
    }

    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError) {
        for (k, w, a) in try restored.keyedEntries(name, key: K.self, namespace: TimeWindow.self, value: A.self) {
            byWindow[w, default: [:]][k] = a
        }
    }
}
