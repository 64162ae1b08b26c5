/// A durable, byte-level store behind the keyed state tables (RocksDB): the tables keep a bounded cache of hot
/// entries in memory and read misses from here; evictions and checkpoints write changed entries back.
///
/// Tables are named after the states they hold; value tables (`v:NAME`) lay their keys out as
/// `key group (2 bytes, big-endian) | key | namespace`, window tables (`w:NAME`) as `window | key group | key` so
/// that firing a window reads one key range.
public protocol StateStore: AnyObject {
    /// The table `name`, created when missing.
    func table(_ name: String) throws -> StoreTableID
    func get(_ table: StoreTableID, key: [UInt8]) throws -> [UInt8]?
    /// Applies puts and deletes atomically.
    func write(_ batch: StoreBatch) throws
    /// Visits the entries whose keys start with `prefix`, in key order, until `body` returns false.
    func scan(
        _ table: StoreTableID, prefix: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws
    /// Writes a consistent copy of the store into `directory` (which must not exist), sharing unchanged files
    /// with earlier copies where the file system allows.
    func checkpoint(to directory: String) throws
    /// Copies into this store the entries of a checkpoint copy whose key group lies in `keyGroups`, for the
    /// tables `include` accepts; returns the names of the tables that received entries.
    func ingest(checkpoint directory: String, keyGroups: ClosedRange<Int>, include: (String) -> Bool) throws -> [String]
    /// Bytes the store holds (approximately), for metrics and benchmarks.
    var approximateSize: Int { get }
}

/// A handle on one table of a ``StateStore``.
public struct StoreTableID: Hashable, Sendable {
    public let id: Int
    public init(_ id: Int) { self.id = id }
}

/// Puts (`value` non-nil) and deletes, applied together.
public struct StoreBatch {
    public var operations: [(table: StoreTableID, key: [UInt8], value: [UInt8]?)] = []
    public init() {}
    public var isEmpty: Bool { operations.isEmpty }
    public mutating func put(_ table: StoreTableID, key: [UInt8], value: [UInt8]) { operations.append((table, key, value)) }
    public mutating func delete(_ table: StoreTableID, key: [UInt8]) { operations.append((table, key, nil)) }
}

/// What a table needs to reach its part of a store.
public final class StoreBinding {
    let store: StateStore
    let table: StoreTableID
    let maxParallelism: Int
    /// Entries kept in memory before the coldest are written back and dropped.
    @usableFromInline let cacheLimit: Int
    /// Whether the store may hold entries of this table (it was restored, or entries were written back):
    /// until then a cache miss is known to be absent and costs no read.
    var mayContain: Bool
    var scratch = BinaryWriter()
    /// Reports a store failure; the table's callers cannot throw on the hot path, the task stops after the event.
    let onError: (any Error) -> Void

    init(
        store: StateStore, table: StoreTableID, maxParallelism: Int, cacheLimit: Int, mayContain: Bool,
        onError: @escaping (any Error) -> Void
    ) {
        self.onError = onError
        self.store = store
        self.table = table
        self.maxParallelism = maxParallelism
        self.cacheLimit = max(16, cacheLimit)
        self.mayContain = mayContain
    }

    /// `key group | key | namespace`.
    func valueKey<K: BinaryCodable, N: BinaryCodable>(_ key: K, _ namespace: N) -> [UInt8] {
        scratch.reset()
        key.encode(to: &scratch)
        let group = scratch.bytes.withUnsafeBytes { KeyGroup.of(encodedKey: $0, maxParallelism: maxParallelism) }
        var out: [UInt8] = [UInt8(group >> 8), UInt8(group & 0xff)]
        out += scratch.bytes
        scratch.reset()
        namespace.encode(to: &scratch)
        out += scratch.bytes
        return out
    }

    /// `window | key group | key`.
    func windowKey<K: BinaryCodable>(_ window: TimeWindow, _ key: K) -> [UInt8] {
        var out = Self.windowPrefix(window)
        scratch.reset()
        key.encode(to: &scratch)
        let group = scratch.bytes.withUnsafeBytes { KeyGroup.of(encodedKey: $0, maxParallelism: maxParallelism) }
        out += [UInt8(group >> 8), UInt8(group & 0xff)]
        out += scratch.bytes
        return out
    }

    static func windowPrefix(_ window: TimeWindow) -> [UInt8] {
        var w = BinaryWriter()
        window.encode(to: &w)
        return w.bytes
    }

    func encode<V: BinaryCodable>(_ value: V) -> [UInt8] {
        scratch.reset()
        value.encode(to: &scratch)
        return scratch.bytes
    }
}
