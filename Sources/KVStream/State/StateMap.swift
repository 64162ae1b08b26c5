import CPrefetch

/// The accumulators of one window in memory: an open-addressing hash map (linear probing, backward-shift
/// deletion, at most 3/4 full) that keeps each entry's hash.
///
/// Why not a `Dictionary`: in the Kafka benchmark the window operator's lookups were mostly cache misses (a
/// minute of 45,000 customers is a few megabytes per window), taken one after another. Here the caller hashes a
/// batch's keys first (``hash(_:)``) and asks for the lines of a key a few records ahead (``prefetch(hash:)``), so
/// the misses overlap; the stored hashes make a probe compare keys only when their hashes are equal.
///
/// - Keys compare and hash as ``StateMapKey``s (strings by their bytes), with the seed of the map's table: every
///   map of a ``WindowTable`` shares it, so a key's hash is computed once whatever window it lands in.
/// - A class, so that the table changes a window's map in place (a dictionary stored in a dictionary is reached
///   through copy-on-write checks). Visiting (``forEach(_:)``) must not change the map.
public final class StateMap<K: Hashable, V> {
    /// 0: empty. A stored hash always has its low bit set (``hash(_:)``).
    @exclusivity(unchecked) @usableFromInline var hashes: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) @usableFromInline var keys: UnsafeMutablePointer<K>
    @exclusivity(unchecked) @usableFromInline var values: UnsafeMutablePointer<V>
    @exclusivity(unchecked) @usableFromInline var mask: Int
    @exclusivity(unchecked) @usableFromInline var entryCount = 0
    @usableFromInline let seed: Int

    /// A map that holds `minimumCapacity` entries without growing, hashing with `seed`.
    public init(minimumCapacity: Int = 0, seed: Int) {
        self.seed = seed
        var capacity = 8
        while capacity * 3 / 4 < minimumCapacity { capacity *= 2 }
        mask = capacity - 1
        (hashes, keys, values) = Self.allocate(capacity)
    }

    deinit {
        destroyEntries()
        Self.deallocate(hashes, keys, values)
    }

    @usableFromInline
    static func allocate(_ capacity: Int)
        -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<K>, UnsafeMutablePointer<V>)
    {
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        hashes.initialize(repeating: 0, count: capacity)
        return (hashes, .allocate(capacity: capacity), .allocate(capacity: capacity))
    }

    static func deallocate(
        _ hashes: UnsafeMutablePointer<UInt64>, _ keys: UnsafeMutablePointer<K>, _ values: UnsafeMutablePointer<V>
    ) {
        hashes.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    /// Entries in the map.
    @inlinable public var count: Int { entryCount }

    @inlinable public var isEmpty: Bool { entryCount == 0 }

    /// The hash of `key` in every map with this map's seed; never 0.
    @inlinable @inline(__always)
    public func hash(_ key: K) -> UInt64 { Self.hash(key, seed: seed) }

    @inlinable @inline(__always)
    static func hash(_ key: K, seed: Int) -> UInt64 {
        UInt64(UInt(bitPattern: StateMapKey(key)._rawHashValue(seed: seed))) | 1
    }

    /// The slot a key with this hash starts probing at (the low bit, always set, is left out).
    @inlinable @inline(__always)
    func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 1) & mask }

    /// Asks the processor for the lines of the entry a key with this hash starts probing at.
    @inlinable @inline(__always)
    public func prefetch(hash: UInt64) {
        let slot = home(hash)
        kvstream_prefetch(hashes + slot)
        kvstream_prefetch(keys + slot)
        kvstream_prefetch(values + slot)
    }

    /// Where `key` is, or the empty slot where it would go.
    @inlinable @inline(__always)
    func find(_ key: K, hash: UInt64) -> (slot: Int, found: Bool) {
        var slot = home(hash)
        while true {
            let stored = hashes[slot]
            if stored == 0 { return (slot, false) }
            if stored == hash && StateMapKey(keys[slot]) == StateMapKey(key) { return (slot, true) }
            slot = (slot &+ 1) & mask
        }
    }

    @inlinable
    public subscript(key: K) -> V? { self[key, hash: hash(key)] }

    /// The value of a key whose ``hash(_:)`` is computed already.
    @inlinable
    public subscript(key: K, hash hash: UInt64) -> V? {
        let (slot, found) = find(key, hash: hash)
        return found ? values[slot] : nil
    }

    /// Reads, changes and writes back one entry with a single lookup; setting the value to nil removes it. The
    /// value is moved out of the map for `body`, so that a collection in it is changed without a copy.
    @inlinable
    public func update<R>(_ key: K, hash: UInt64, _ body: (inout V?) -> R) -> R {
        let (slot, found) = find(key, hash: hash)
        if found {
            var value: V? = (values + slot).move()
            let result = body(&value)
            if let value = value.take() {
                (values + slot).initialize(to: value)
            } else {
                removeEntry(at: slot)
            }
            return result
        }
        var value: V? = nil
        let result = body(&value)
        if let value = value.take() { insertNew(key, hash: hash, value: value, at: slot) }
        return result
    }

    @inlinable
    public func update<R>(_ key: K, _ body: (inout V?) -> R) -> R { update(key, hash: hash(key), body) }

    /// Puts a key known to be absent at `slot` (its probe's end), growing first when the map is 3/4 full.
    @usableFromInline
    func insertNew(_ key: K, hash: UInt64, value: V, at slot: Int) {
        var slot = slot
        if (entryCount + 1) * 4 > (mask + 1) * 3 {
            grow()
            slot = find(key, hash: hash).slot
        }
        hashes[slot] = hash
        (keys + slot).initialize(to: key)
        (values + slot).initialize(to: value)
        entryCount += 1
    }

    /// Removes the entry at `slot`, whose value was moved out already, and shifts back the entries of its probe
    /// run that may move closer to their start (no tombstones).
    @usableFromInline
    func removeEntry(at slot: Int) {
        (keys + slot).deinitialize(count: 1)
        entryCount -= 1
        var hole = slot
        var next = (slot + 1) & mask
        while hashes[next] != 0 {
            // The entry at `next` may fill the hole when the hole lies on its probe path (home ... next).
            if (next &- home(hashes[next])) & mask >= (next &- hole) & mask {
                hashes[hole] = hashes[next]
                (keys + hole).moveInitialize(from: keys + next, count: 1)
                (values + hole).moveInitialize(from: values + next, count: 1)
                hole = next
            }
            next = (next + 1) & mask
        }
        hashes[hole] = 0
    }

    /// Doubles the capacity, moving every entry (their stored hashes place them: no key is hashed again).
    @usableFromInline
    func grow() {
        let (oldHashes, oldKeys, oldValues, oldCapacity) = (hashes, keys, values, mask + 1)
        mask = oldCapacity * 2 - 1
        (hashes, keys, values) = Self.allocate(oldCapacity * 2)
        for old in 0..<oldCapacity where oldHashes[old] != 0 {
            var slot = home(oldHashes[old])
            while hashes[slot] != 0 { slot = (slot + 1) & mask }
            hashes[slot] = oldHashes[old]
            (keys + slot).moveInitialize(from: oldKeys + old, count: 1)
            (values + slot).moveInitialize(from: oldValues + old, count: 1)
        }
        Self.deallocate(oldHashes, oldKeys, oldValues)
    }

    /// Visits every entry, in no particular order.
    @inlinable
    public func forEach(_ body: (K, V) -> Void) {
        for slot in 0...mask where hashes[slot] != 0 { body(keys[slot], values[slot]) }
    }

    /// Every tenth key in slot order, at most `limit` of them: entries to evict spread over the whole table
    /// (see ``KeyedValueTable/evict()``).
    public func everyTenthKey(upTo limit: Int) -> [K] {
        everyTenth((0...mask).lazy.filter { self.hashes[$0] != 0 }).prefix(limit).map { keys[$0] }
    }

    /// Removes every entry and keeps the capacity (a window's map is reused for a later window).
    public func removeAll() {
        destroyEntries()
        hashes.update(repeating: 0, count: mask + 1)
        entryCount = 0
    }

    private func destroyEntries() {
        guard entryCount > 0 else { return }
        for slot in 0...mask where hashes[slot] != 0 {
            (keys + slot).deinitialize(count: 1)
            (values + slot).deinitialize(count: 1)
        }
    }
}
