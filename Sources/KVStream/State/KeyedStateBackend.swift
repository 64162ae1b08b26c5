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
    /// Every entry (memory backend), or the cache of hot entries in front of ``backing``.
    @exclusivity(unchecked) @usableFromInline var entries: [StateEntryKey<K, N>: V] = [:]
    /// The store behind the cache, when the backend has one.
    @usableFromInline let backing: StoreBinding?
    /// Entries changed (or deleted) since they were last written to the store.
    @exclusivity(unchecked) @usableFromInline var dirty: Set<StateEntryKey<K, N>> = []

    public init() { backing = nil }

    init(backing: StoreBinding?) { self.backing = backing }

    @inlinable public func get(_ key: K, _ namespace: N) -> V? {
        let k = StateEntryKey(key: key, namespace: namespace)
        if backing != nil { load(k) }
        return entries[k]
    }

    @inlinable public func put(_ key: K, _ namespace: N, _ value: V) { update(key, namespace) { $0 = value } }

    @inlinable public func remove(_ key: K, _ namespace: N) { update(key, namespace) { $0 = nil } }

    /// Reads, changes and writes back one entry with a single lookup; setting the value to nil removes it.
    @inlinable public func update<R>(_ key: K, _ namespace: N, _ body: (inout V?) -> R) -> R {
        let k = StateEntryKey(key: key, namespace: namespace)
        guard backing != nil else { return body(&entries[k]) }
        load(k)
        let result = body(&entries[k])
        dirty.insert(k)
        if entries.count > backing!.cacheLimit { evict() }
        return result
    }

    /// Visits every entry (snapshots, tests), in the cache and in the store.
    public func forEach(_ body: (K, N, V) -> Void) {
        for (k, v) in entries { body(k.key, k.namespace, v) }
        guard let backing, backing.mayContain else { return }
        try? backing.store.scan(backing.table, prefix: []) { keyBytes, valueBytes in
            guard let (k, v) = decodeStored(keyBytes, valueBytes), entries[k] == nil, !dirty.contains(k) else {
                return true
            }
            body(k.key, k.namespace, v)
            return true
        }
    }

    /// Entries in memory (all of them for the memory backend).
    public var count: Int { entries.count }
}

/// The key of one entry of a ``KeyedValueTable``. The key part compares and hashes as a ``StateMapKey`` (strings by
/// their bytes, without SipHash), as in window tables: a key's state does not depend on the kind of state.
public struct StateEntryKey<K: Hashable, N: Hashable>: Hashable {
    public var key: K
    public var namespace: N

    @inlinable public init(key: K, namespace: N) {
        self.key = key
        self.namespace = namespace
    }

    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        StateMapKey(lhs.key) == StateMapKey(rhs.key) && lhs.namespace == rhs.namespace
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        StateMapKey(key).hash(into: &hasher)
        namespace.hash(into: &hasher)
    }

    @inlinable
    public func _rawHashValue(seed: Int) -> Int {
        let keyHash = StateMapKey(key)._rawHashValue(seed: seed)
        // Plain per-key state (the usual case) has nothing more to hash.
        if N.self == VoidNamespace.self { return keyHash }
        return Int(truncatingIfNeeded: StateHashing.fold(
            UInt64(UInt(bitPattern: keyHash)) ^ StateHashing.k0,
            UInt64(UInt(bitPattern: namespace._rawHashValue(seed: seed))) ^ StateHashing.k2))
    }
}

/// Window accumulators, laid out `window -> key -> accumulator` so that firing a window visits only its keys.
///
/// - Important: `final` for the same reason as ``KeyedValueTable``.
public final class WindowTable<K: StateKey, A: StateValue> {
    /// One window's accumulators (see ``StateMap``: string keys hash without SipHash, lookups can be prefetched).
    public typealias Keys = StateMap<K, A>
    /// Every accumulator (memory backend), or the cache of hot ones in front of ``backing``.
    @exclusivity(unchecked) @usableFromInline var byWindow: [TimeWindow: Keys] = [:]
    @usableFromInline let backing: StoreBinding?
    /// The seed of every window's map: a key hashes the same in all of them (``hash(_:)``). Drawn per table.
    @usableFromInline let seed = Int.random(in: .min ... .max)
    /// Windows changed since their accumulators were last written to the store: all their cached entries are
    /// written back at the next checkpoint. Window-level, so tracking costs nothing per record (a window is
    /// created and fired within a checkpoint interval most of the time, and then never reaches the store).
    @exclusivity(unchecked) @usableFromInline var dirtyWindows: Set<TimeWindow> = []
    /// Large windows that outlive checkpoints (a day of 60,000 customers and services), tracked per key instead:
    /// the keys changed since the last write-back. Rewriting such a window whole at every checkpoint cost more
    /// than all the rest of the job with checkpoints every 100 ms; a set insert per record costs far less. A
    /// window moves here when a write-back finds more than ``keyTrackingThreshold`` of its entries cached.
    @exclusivity(unchecked) @usableFromInline var changedKeys: [TimeWindow: Set<StateMapKey<K>>] = [:]
    @exclusivity(unchecked) @usableFromInline var lastDirty: TimeWindow?
    /// Whether ``lastDirty`` is tracked in ``changedKeys``.
    @exclusivity(unchecked) @usableFromInline var lastDirtyByKey = false
    /// Keys whose accumulators were removed from a window since its last write-back (deleted from the store).
    @exclusivity(unchecked) @usableFromInline var removed: [TimeWindow: Set<StateMapKey<K>>] = [:]
    /// Windows some of whose accumulators are in the store: only their cache misses need a read.
    @exclusivity(unchecked) @usableFromInline var spilled: Set<TimeWindow> = []
    @exclusivity(unchecked) @usableFromInline var cached = 0
    /// Maps of dropped windows, emptied with their capacity kept (memory backend, at most ``maxSpares``): new
    /// windows take them, since the windows of a stream hold similar numbers of keys. Growing a new one from empty
    /// moved every key about twice, and a fresh table's pages are faulted in one by one: together a quarter of the
    /// window operator's time. Several, because a source reading many partitions opens several windows between
    /// two watermarks (148 Kafka partitions: ~3 one-minute windows per pass); with one spare, the others grew from
    /// empty (5% of a Kafka job's CPU).
    @exclusivity(unchecked) @usableFromInline var spares: [Keys] = []
    @usableFromInline static var maxSpares: Int { 4 }
    /// Keys in the last window dropped: a new window without a spare is made that large at once.
    @exclusivity(unchecked) @usableFromInline var lastDroppedCount = 0
    /// The last window updated and its map (memory backend): a batch's records fall in one or two windows, so
    /// most updates skip hashing the window. Forgotten when a window is dropped (its map becomes a spare). Not
    /// retained: ``byWindow`` holds the map as long as this names it (a retain and a release per record, else).
    @exclusivity(unchecked) @usableFromInline var lastWindow: (window: TimeWindow, keys: Unmanaged<Keys>)?

    public init() { backing = nil }

    init(backing: StoreBinding?) { self.backing = backing }

    /// The hash of `key` in every window of this table, for ``update(_:hash:_:_:)`` and ``prefetch(hash:)``.
    @inlinable @inline(__always)
    public func hash(_ key: K) -> UInt64 { Keys.hash(key, seed: seed) }

    /// Asks for the lines a key with this hash will be looked up in, in the last window updated (memory backend):
    /// called a few records ahead of the update.
    @inlinable @inline(__always)
    public func prefetch(hash: UInt64) {
        lastWindow?.keys._withUnsafeGuaranteedRef { $0.prefetch(hash: hash) }
    }

    /// Changes one accumulator in place; setting it to nil removes it.
    @inlinable public func update<R>(_ key: K, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        update(key, hash: hash(key), window, body)
    }

    /// ``update(_:_:_:)`` with the key's ``hash(_:)`` computed already.
    @inlinable public func update<R>(_ key: K, hash: UInt64, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        guard backing != nil else {
            if let last = lastWindow, last.window == window {
                return last.keys._withUnsafeGuaranteedRef { $0.update(key, hash: hash, body) }
            }
            let keys = keysCreating(window)
            lastWindow = (window, Unmanaged.passUnretained(keys))
            return keys.update(key, hash: hash, body)
        }
        if spilled.contains(window) { load(key, hash: hash, window) }
        let keys = keysCreating(window)
        let before = keys.count
        let result = keys.update(key, hash: hash, body)
        let delta = keys.count - before
        cached += delta
        if delta < 0 { removed[window, default: []].insert(StateMapKey(key)) }
        if keys.isEmpty { byWindow[window] = nil }
        if window != lastDirty {
            lastDirtyByKey = changedKeys[window] != nil
            if !lastDirtyByKey { dirtyWindows.insert(window) }
            lastDirty = window
        }
        if lastDirtyByKey { changedKeys[window]!.insert(StateMapKey(key)) }
        if cached > backing!.cacheLimit { evict() }
        return result
    }

    /// The map of a window, made (or taken from the spares) when it has none.
    @usableFromInline func keysCreating(_ window: TimeWindow) -> Keys {
        if let keys = byWindow[window] { return keys }
        let keys = spares.popLast() ?? Keys(minimumCapacity: lastDroppedCount, seed: seed)
        byWindow[window] = keys
        return keys
    }

    @inlinable public func get(_ key: K, _ window: TimeWindow) -> A? {
        let hash = hash(key)
        if backing != nil { load(key, hash: hash, window) }
        return byWindow[window]?[key, hash: hash]
    }

    /// Visits the accumulators of one window, in the cache and in the store. `body` must not change the table.
    ///
    /// Inlinable, so that the loop over the window's keys is specialized where the operator is: unspecialized, it
    /// went through value witnesses and generic metadata for every key of every fired window.
    @inlinable public func forEach(in window: TimeWindow, _ body: (K, A) -> Void) {
        let inMemory = byWindow[window]
        inMemory?.forEach(body)
        if backing != nil { forEachStored(in: window, skipping: inMemory, body) }
    }

    /// The accumulators of a spilled window that are in the store only.
    @usableFromInline func forEachStored(in window: TimeWindow, skipping inMemory: Keys?, _ body: (K, A) -> Void) {
        guard let backing, spilled.contains(window) else { return }
        let gone = removed[window] ?? []
        try? backing.store.scan(backing.table, prefix: StoreBinding.windowPrefix(window)) { keyBytes, valueBytes in
            guard let (k, a) = decodeStored(window, keyBytes, valueBytes), inMemory?[k] == nil,
                  !gone.contains(StateMapKey(k))
            else { return true }
            body(k, a)
            return true
        }
    }

    /// Drops a whole window.
    public func removeWindow(_ window: TimeWindow) {
        lastWindow = nil
        if let keys = byWindow.removeValue(forKey: window) {
            cached -= keys.count
            if backing == nil {
                lastDroppedCount = keys.count
                if spares.count < Self.maxSpares {
                    keys.removeAll()
                    spares.append(keys)
                }
            }
        }
        dirtyWindows.remove(window)
        changedKeys[window] = nil
        removed[window] = nil
        if lastDirty == window { lastDirty = nil }
        guard let backing, spilled.remove(window) != nil else { return }
        var batch = StoreBatch()
        try? backing.store.scan(backing.table, prefix: StoreBinding.windowPrefix(window)) { keyBytes, _ in
            batch.delete(backing.table, key: Array(keyBytes))
            return true
        }
        try? backing.store.write(batch)
    }

    /// The windows that hold state.
    public var windows: [TimeWindow] { Array(Set(byWindow.keys).union(spilled)) }

    /// Accumulators in memory (all of them for the memory backend).
    public var count: Int { byWindow.values.reduce(0) { $0 + $1.count } }
}
