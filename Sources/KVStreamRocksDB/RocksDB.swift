import CRocksDB
import Foundation

/// Serializes opening databases: concurrent first opens crashed inside librocksdb 7.8.3 (a null function called
/// while its static registries initialize); opens are rare, so one process-wide lock costs nothing.
private let openLock = NSLock()

/// One RocksDB database with named column families.
///
/// - Important: `@unchecked Sendable` because RocksDB's handles are thread-safe for reads and writes; this
///   wrapper adds no mutable state after `init` but the column-family table, which it only grows under `lock`.
final class RocksDB: @unchecked Sendable {
    private let db: OpaquePointer
    private let options: OpaquePointer
    private let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private let lock = NSLock()
    private var families: [String: OpaquePointer] = [:]
    let path: String

    /// Opens (creating when missing) the database at `path` with every column family it already has.
    init(path: String, lz4: Bool = true, writeBufferBytes: Int = 64 << 20, blockCacheBytes: Int = 64 << 20) throws {
        self.path = path
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_set_write_buffer_size(options, writeBufferBytes)
        if lz4 { rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression)) }
        let table = rocksdb_block_based_options_create()
        let cache = rocksdb_cache_create_lru(blockCacheBytes)
        rocksdb_block_based_options_set_block_cache(table, cache)
        // Most cache misses are keys the store does not have (a new key, a new window): bloom filters answer
        // those without reading data blocks.
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom(10))
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
        rocksdb_options_set_block_based_table_factory(options, table)
        rocksdb_block_based_options_destroy(table)
        rocksdb_cache_destroy(cache)
        self.options = options

        openLock.lock()
        defer { openLock.unlock() }
        var existing = ["default"]
        var count = 0
        var error: UnsafeMutablePointer<CChar>?
        // The C API returns a (possibly empty) list even when it fails, as it does for a new database.
        let names = rocksdb_list_column_families(options, path, &count, &error)
        if error == nil, let names, count > 0 { existing = (0..<count).map { String(cString: names[$0]!) } }
        if let names { rocksdb_list_column_families_destroy(names, count) }
        if let error { rocksdb_free(error) }
        error = nil

        var cNames = existing.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var cfOptions: [OpaquePointer?] = existing.map { _ in options }
        var handles = [OpaquePointer?](repeating: nil, count: existing.count)
        let opened = cNames.withUnsafeMutableBufferPointer { names in
            names.withMemoryRebound(to: UnsafePointer<CChar>?.self) { namePointers in
                rocksdb_open_column_families(
                    options, path, Int32(existing.count), namePointers.baseAddress, &cfOptions, &handles, &error)
            }
        }
        guard let opened, error == nil else {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            if let error { rocksdb_free(error) }
            rocksdb_options_destroy(options)
            throw RocksDBError("cannot open RocksDB at \(path): \(message)")
        }
        db = opened
        for (name, handle) in zip(existing, handles) { families[name] = handle }
        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        // State is made durable by checkpoints, not by the write-ahead log: a crash restores the last checkpoint.
        rocksdb_writeoptions_disable_WAL(writeOptions, 1)
    }

    deinit {
        for handle in families.values { rocksdb_column_family_handle_destroy(handle) }
        rocksdb_close(db)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_options_destroy(options)
    }

    /// The column family `name`, created when missing.
    func family(_ name: String) throws -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let handle = families[name] { return handle }
        var error: UnsafeMutablePointer<CChar>?
        let handle = rocksdb_create_column_family(db, options, name, &error)
        try Self.check(error, "cannot create column family \(name)")
        guard let handle else { throw RocksDBError("cannot create column family \(name)") }
        families[name] = handle
        return handle
    }

    var familyNames: [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(families.keys)
    }

    func get(_ family: OpaquePointer, key: UnsafeRawBufferPointer) throws -> [UInt8]? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = rocksdb_get_cf(
            db, readOptions, family, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, &length, &error)
        try Self.check(error, "read failed")
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// Applies puts and deletes atomically.
    func write(_ batch: WriteBatch) throws {
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions, batch.handle, &error)
        try Self.check(error, "write failed")
    }

    /// Visits the entries of `family` whose keys start with `prefix`, in key order, until `body` returns false.
    func scan(
        _ family: OpaquePointer, prefix: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        let iterator = rocksdb_create_iterator_cf(db, readOptions, family)!
        defer { rocksdb_iter_destroy(iterator) }
        prefix.withUnsafeBytes { p in
            rocksdb_iter_seek(iterator, p.baseAddress?.assumingMemoryBound(to: CChar.self), p.count)
        }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength)
            guard key.starts(with: prefix) else { break }
            let value = UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength)
            if try !body(key, value) { break }
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &error)
        try Self.check(error, "scan failed")
    }

    /// Writes the memtables to SST files (so a checkpoint holds no data only in memory).
    func flush() throws {
        let options = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(options) }
        rocksdb_flushoptions_set_wait(options, 1)
        for handle in familyHandles {
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_flush_cf(db, options, handle, &error)
            try Self.check(error, "flush failed")
        }
    }

    private var familyHandles: [OpaquePointer] {
        lock.lock()
        defer { lock.unlock() }
        return Array(families.values)
    }

    /// A RocksDB checkpoint: SST files are hard-linked (copied only across file systems) into `directory`.
    func checkpoint(to directory: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let checkpoint = rocksdb_checkpoint_object_create(db, &error)
        try Self.check(error, "cannot create a checkpoint object")
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        rocksdb_checkpoint_create(checkpoint, directory, 0, &error)
        try Self.check(error, "checkpoint to \(directory) failed")
    }

    /// Approximate bytes of live data.
    var approximateSize: Int {
        familyHandles.reduce(0) { total, handle in
            var value: UInt64 = 0
            _ = rocksdb_property_int_cf(db, handle, "rocksdb.estimate-live-data-size", &value)
            return total + Int(value)
        }
    }

    static func check(_ error: UnsafeMutablePointer<CChar>?, _ what: String) throws {
        guard let error else { return }
        defer { rocksdb_free(error) }
        throw RocksDBError("RocksDB: \(what): \(String(cString: error))")
    }
}

/// Puts and deletes applied together.
final class WriteBatch {
    let handle: OpaquePointer

    init() { handle = rocksdb_writebatch_create() }
    deinit { rocksdb_writebatch_destroy(handle) }

    var count: Int { Int(rocksdb_writebatch_count(handle)) }

    func put(_ family: OpaquePointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        rocksdb_writebatch_put_cf(
            handle, family, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
            value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
    }

    func delete(_ family: OpaquePointer, key: UnsafeRawBufferPointer) {
        rocksdb_writebatch_delete_cf(handle, family, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
    }

    func clear() { rocksdb_writebatch_clear(handle) }
}

public struct RocksDBError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
