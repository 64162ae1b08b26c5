/// The keyed state of one task instance: hash tables in memory, with no encoding on access (`memory`), or the
/// same tables as a bounded cache in front of a durable ``StateStore`` (`rocksdb`) when the state is larger than
/// memory should hold.
public final class TaskStateBackend: KeyedStateBackend {
    private var tables: [String: any SnapshottableTable] = [:]
    public private(set) var tableNames: [String] = []
    /// State restored from a checkpoint, loaded into each table when an operator registers it.
    var restored: RestoredState?
    private(set) var restoreErrors: [String] = []
    let store: StateStore?
    let maxParallelism: Int
    let cacheLimit: Int
    /// Store tables that received entries from restored store checkpoints.
    private var ingested: Set<String> = []
    private var storeError: (any Error)?

    /// - Parameters:
    ///   - store: where entries beyond the cache go; nil keeps everything in memory.
    ///   - cacheLimit: entries per table kept in memory in front of the store.
    public init(store: StateStore? = nil, maxParallelism: Int = KeyGroup.defaultMaxParallelism, cacheLimit: Int = 1_000_000) {
        self.store = store
        self.maxParallelism = maxParallelism
        self.cacheLimit = cacheLimit
    }

    /// Copies the restored store checkpoints' entries of this instance's key groups into the store.
    func ingest(keyGroups: ClosedRange<Int>, operators: Set<String>) throws {
        guard let restored, !restored.storeCheckpoints.isEmpty else { return }
        guard let store else {
            throw ConfigError(
                "checkpoint \(restored.checkpointID) holds its keyed state in RocksDB; restore it with "
                    + "state.backend = \"rocksdb\" (or start over with --from-checkpoint none)")
        }
        for directory in restored.storeCheckpoints {
            let names = try store.ingest(checkpoint: directory, keyGroups: keyGroups) { table in
                operators.contains(Self.owner(ofStoreTable: table))
            }
            ingested.formUnion(names)
        }
    }

    static func owner(ofStoreTable name: String) -> String {
        let state = name.dropFirst(2)  // "v:" or "w:"
        return state.range(of: OperatorContext.scopeSeparator).map { String(state[..<$0.lowerBound]) } ?? String(state)
    }

    private func binding(_ storeName: String) -> StoreBinding? {
        guard let store else { return nil }
        do {
            let table = try store.table(storeName)
            return StoreBinding(
                store: store, table: table, maxParallelism: maxParallelism, cacheLimit: cacheLimit,
                mayContain: ingested.contains(storeName)
            ) { [weak self] error in if self?.storeError == nil { self?.storeError = error } }
        } catch {
            restoreErrors.append("state table \(storeName): \(error)")
            return nil
        }
    }

    /// A failure of the store since the last call (the task stops).
    func takeStoreError() -> (any Error)? {
        defer { storeError = nil }
        return storeError
    }

    public func valueTable<K: StateKey, N: StateNamespace, V: StateValue>(
        _ name: String, key: K.Type, namespace: N.Type, value: V.Type
    ) -> KeyedValueTable<K, N, V> {
        register(name) { KeyedValueTable<K, N, V>(backing: binding("v:" + name)) }
    }

    public func windowTable<K: StateKey, A: StateValue>(_ name: String, key: K.Type, accumulator: A.Type)
        -> WindowTable<K, A>
    {
        register(name) {
            let table = WindowTable<K, A>(backing: binding("w:" + name))
            if ingested.contains("w:" + name) { table.noteSpilledWindows() }
            return table
        }
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

    /// Adds every table's state to a checkpoint: a copy of the store (written into `storeDirectory`) when there
    /// is one and the checkpoint has a directory, otherwise each entry tagged with its key's key group.
    func snapshot(into builder: SnapshotBuilder, storeDirectory: String?) throws {
        if let problem = restoreErrors.first { throw ConnectorError("restoring keyed state failed: \(problem)") }
        if let error = takeStoreError() { throw error }
        if let store, let storeDirectory {
            for name in tableNames { tables[name]?.writeBack() }
            if let error = takeStoreError() { throw error }
            try store.checkpoint(to: storeDirectory)
            builder.setStoreCheckpoint(storeDirectory)
            return
        }
        for name in tableNames { tables[name]?.snapshot(name, into: builder) }
    }
}

/// A state table that can be written into a checkpoint and filled back from one.
protocol SnapshottableTable: AnyObject {
    func snapshot(_ name: String, into builder: SnapshotBuilder)
    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError)
    /// Writes changed cache entries to the store, if there is one.
    func writeBack()
}

extension KeyedValueTable: SnapshottableTable {
    func snapshot(_ name: String, into builder: SnapshotBuilder) {
        let now = Clock.nowMillis()
        forEach { key, namespace, value in
            // Expired state is not carried into checkpoints (Flink's full-snapshot cleanup).
            if let cell = value as? any ExpiringCell, cell.expired(at: now) { return }
            builder.addKeyed(name, key: key, namespace: namespace, value: value)
        }
    }

    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError) {
        for (k, n, v) in try restored.keyedEntries(name, key: K.self, namespace: N.self, value: V.self) {
            put(k, n, v)
        }
    }
}

extension WindowTable: SnapshottableTable {
    func snapshot(_ name: String, into builder: SnapshotBuilder) {
        for window in windows {
            var w = BinaryWriter()
            window.encode(to: &w)
            let namespace = w.bytes
            forEach(in: window) { k, a in builder.addKeyed(name, key: k, encodedNamespace: namespace, value: a) }
        }
    }

    func restore(_ name: String, from restored: RestoredState) throws(BinaryDecodingError) {
        for (k, w, a) in try restored.keyedEntries(name, key: K.self, namespace: TimeWindow.self, value: A.self) {
            update(k, w) { $0 = a }
        }
    }
}
