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
    /// Every accumulator (memory backend), or the cache of hot ones in front of ``backing``.
    /// One window's accumulators; its keys hash as ``StateMapKey`` says (strings without SipHash).
    @usableFromInline typealias Keys = [StateMapKey<K>: A]
    @exclusivity(unchecked) @usableFromInline var byWindow: [TimeWindow: Keys] = [:]
    @usableFromInline let backing: StoreBinding?
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
    /// Dictionaries of dropped windows, emptied with their capacity kept (memory backend, at most
    /// ``maxSpares``): new windows take them, since the windows of a stream hold similar numbers of keys. Growing
    /// a new one from empty rehashed every key about twice, and a fresh table's pages are faulted in one by one:
    /// together a quarter of the window operator's time. Several, because a source reading many partitions opens
    /// several windows between two watermarks (148 Kafka partitions: ~3 one-minute windows per pass); with one
    /// spare, the others grew from empty (5% of a Kafka job's CPU).
    @exclusivity(unchecked) @usableFromInline var spares: [Keys] = []
    @usableFromInline static var maxSpares: Int { 4 }
    /// Keys in the last window dropped: a new window without a spare is made that large at once.
    @exclusivity(unchecked) @usableFromInline var lastDroppedCount = 0
    /// Where the last window updated sits in ``byWindow`` (memory backend): a batch's records fall in one or two
    /// windows, so most updates skip hashing the window. Forgotten whenever a window is added or removed, which
    /// moves entries (a stale index would trap).
    @exclusivity(unchecked) @usableFromInline
    var lastWindow: (window: TimeWindow, index: Dictionary<TimeWindow, Keys>.Index)?

    public init() { backing = nil }

    init(backing: StoreBinding?) { self.backing = backing }

    /// Changes one accumulator in place; setting it to nil removes it.
    @inlinable public func update<R>(_ key: K, _ window: TimeWindow, _ body: (inout A?) -> R) -> R {
        let mapKey = StateMapKey(key)
        guard backing != nil else {
            if let last = lastWindow, last.window == window { return body(&byWindow.values[last.index][mapKey]) }
            if let index = byWindow.index(forKey: window) {
                lastWindow = (window, index)
                return body(&byWindow.values[index][mapKey])
            }
            byWindow[window] = spares.popLast() ?? Dictionary(minimumCapacity: lastDroppedCount)
            lastWindow = nil
            return body(&byWindow[window]![mapKey])
        }
        if spilled.contains(window) { load(key, window) }
        var delta = 0
        let result = Self.counting(&byWindow[window, default: [:]], mapKey, &delta, body)
        cached += delta
        if delta < 0 { removed[window, default: []].insert(mapKey) }
        if window != lastDirty {
            lastDirtyByKey = changedKeys[window] != nil
            if !lastDirtyByKey { dirtyWindows.insert(window) }
            lastDirty = window
        }
        if lastDirtyByKey { changedKeys[window]!.insert(mapKey) }
        if cached > backing!.cacheLimit { evict() }
        return result
    }

    /// Runs `body` on one accumulator of a window's dictionary, reporting how the dictionary's size changed.
    @inlinable static func counting<R>(_ keys: inout Keys, _ key: StateMapKey<K>, _ delta: inout Int, _ body: (inout A?) -> R) -> R {
        let before = keys.count
        let result = body(&keys[key])
        delta = keys.count - before
        return result
    }

    @inlinable public func get(_ key: K, _ window: TimeWindow) -> A? {
        if backing != nil { load(key, window) }
        return byWindow[window]?[StateMapKey(key)]
    }

    /// Visits the accumulators of one window, in the cache and in the store.
    ///
    /// Inlinable, so that the loop over the window's keys is specialized where the operator is: unspecialized, it
    /// went through value witnesses and generic metadata for every key of every fired window.
    @inlinable public func forEach(in window: TimeWindow, _ body: (K, A) -> Void) {
        let inMemory = byWindow[window] ?? [:]
        for (k, a) in inMemory { body(k.key, a) }
        if backing != nil { forEachStored(in: window, skipping: inMemory, body) }
    }

    /// The accumulators of a spilled window that are in the store only.
    @usableFromInline func forEachStored(in window: TimeWindow, skipping inMemory: Keys, _ body: (K, A) -> Void) {
        guard let backing, spilled.contains(window) else { return }
        let gone = removed[window] ?? []
        try? backing.store.scan(backing.table, prefix: StoreBinding.windowPrefix(window)) { keyBytes, valueBytes in
            guard let (k, a) = decodeStored(window, keyBytes, valueBytes), inMemory[StateMapKey(k)] == nil, !gone.contains(StateMapKey(k))
            else { return true }
            body(k, a)
            return true
        }
    }

    /// Drops a whole window.
    public func removeWindow(_ window: TimeWindow) {
        lastWindow = nil
        if var keys = byWindow.removeValue(forKey: window) {
            cached -= keys.count
            if backing == nil {
                lastDroppedCount = keys.count
                if spares.count < Self.maxSpares {
                    keys.removeAll(keepingCapacity: true)
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
