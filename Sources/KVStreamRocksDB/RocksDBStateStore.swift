import CRocksDB
import Foundation
import KVStream

/// Keyed state in RocksDB: one column family per named state, LZ4-compressed SST files, no write-ahead log
/// (checkpoints make state durable).
public final class RocksDBStateStore: StateStore {
    private let db: RocksDB
    private var families: [OpaquePointer] = []
    private var ids: [String: StoreTableID] = [:]

    /// Opens a fresh store in `directory` (created; removed with ``destroy()``).
    public init(directory: String, blockCacheMegabytes: Int = 64) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        db = try RocksDB(path: directory, blockCacheBytes: blockCacheMegabytes << 20)
    }

    /// The factory for ``ConnectorRegistry/registerStateStore(type:_:)``.
    public static func factory(blockCacheMegabytes: Int) -> StateStoreFactory {
        { directory in try RocksDBStateStore(directory: directory, blockCacheMegabytes: blockCacheMegabytes) }
    }

    public func table(_ name: String) throws -> StoreTableID {
        if let id = ids[name] { return id }
        let id = StoreTableID(families.count)
        families.append(try db.family(name))
        ids[name] = id
        return id
    }

    public func get(_ table: StoreTableID, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { try db.get(families[table.id], key: $0) }
    }

    public func write(_ batch: StoreBatch) throws {
        let writeBatch = WriteBatch()
        for op in batch.operations {
            op.key.withUnsafeBytes { key in
                if let value = op.value {
                    value.withUnsafeBytes { writeBatch.put(families[op.table.id], key: key, value: $0) }
                } else {
                    writeBatch.delete(families[op.table.id], key: key)
                }
            }
        }
        try db.write(writeBatch)
    }

    public func scan(
        _ table: StoreTableID, prefix: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try db.scan(families[table.id], prefix: prefix, body)
    }

    public func checkpoint(to directory: String) throws {
        try db.checkpoint(to: directory)
    }

    public func ingest(checkpoint directory: String, keyGroups: ClosedRange<Int>, include: (String) -> Bool) throws
        -> [String]
    {
        // A private copy of the checkpoint (hard links where possible): RocksDB may write to a database it opens,
        // and a checkpoint must stay as it was for other restores.
        let scratch = directory + ".ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try copyTree(directory, to: scratch)
        let source = try RocksDB(path: scratch, blockCacheBytes: 8 << 20)
        var received: [String] = []
        for name in source.familyNames where name != "default" && include(name) {
            // Value tables start with the key group; window tables with a 16-byte window, then the key group.
            let groupOffset = name.hasPrefix("w:") ? 16 : 0
            let from = try source.family(name)
            let target = try table(name)
            var batch = StoreBatch()
            var any = false
            try source.scan(from, prefix: []) { key, value in
                guard key.count >= groupOffset + 2 else { return true }
                let group = Int(key[groupOffset]) << 8 | Int(key[groupOffset + 1])
                guard keyGroups.contains(group) else { return true }
                batch.put(target, key: Array(key), value: Array(value))
                any = true
                if batch.operations.count >= 10_000 {
                    try write(batch)
                    batch = StoreBatch()
                }
                return true
            }
            try write(batch)
            if any { received.append(name) }
        }
        return received
    }

    public var approximateSize: Int { db.approximateSize }

    private func copyTree(_ from: String, to: String) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: from) {
                let source = from + "/" + name
                let target = to + "/" + name
                // SST files are immutable: a hard link is a copy. Other files (manifest, options) are small.
                if name.hasSuffix(".sst"), link(source, target) == 0 { continue }
                try fm.copyItem(atPath: source, toPath: target)
            }
        } catch {
            throw RocksDBError("cannot read the state checkpoint \(from): \((error as NSError).localizedFailureReason ?? "\(error)")")
        }
    }
}
