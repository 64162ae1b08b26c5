import Foundation
import KVStream
import KVStreamPayments
import KVStreamRocksDB
import KVStreamTesting

/// Keyed state on RocksDB: the tumbling-window job beside the memory backend, and the cost of checkpoints.
enum StateBench {
    /// The tumbling-window job of ``TumblingBench`` with its state in RocksDB behind a cache of `cacheEntries`,
    /// checkpointing every second.
    static func tumblingOnRocksDB(_ events: [(value: Payment, timestamp: Int64)], parallelism: Int, cacheEntries: Int)
        async throws -> TumblingBench.Result
    {
        let settings = BenchData.topology(parallelism: parallelism, count: events.count)
            + "\n[state]\ncache_entries = \(cacheEntries)\n[checkpoint]\ninterval = \"1s\"\n"
        return try await TumblingBench.job(
            events, parallelism: parallelism, settings: settings,
            stateStore: RocksDBStateStore.factory(blockCacheMegabytes: 256))
    }

    struct CheckpointFigures {
        var fullSeconds: Double
        var fullBytes: Int
        var incrementalSeconds: Double
        var incrementalNewBytes: Int
        var restoreSeconds: Double
    }

    /// What a task does at a checkpoint with 1M keys in RocksDB: write the changed entries back (one batch), then
    /// a RocksDB checkpoint (memtables flushed, SST files hard-linked). First with every key new (full), then with
    /// 1% of them changed (incremental: only new SST files take space). Restore: ingest the checkpoint into a
    /// fresh store, as a task restoring all key groups does.
    static func checkpoints(keys: Int) throws -> CheckpointFigures {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try RocksDBStateStore(directory: root + "/db")
        let table = try store.table("v:window::count")
        func entries(_ range: Range<Int>, version: Int64) -> StoreBatch {
            var batch = StoreBatch()
            var w = BinaryWriter()
            for i in range {
                w.reset()
                "c\(i)".encode(to: &w)
                let group = w.bytes.withUnsafeBytes { KeyGroup.of(encodedKey: $0, maxParallelism: 128) }
                var v = BinaryWriter()
                (Int64(i) &* 31 &+ version).encode(to: &v)
                version.encode(to: &v)
                batch.put(table, key: [UInt8(group >> 8), UInt8(group & 0xff)] + w.bytes, value: v.bytes)
            }
            return batch
        }
        let all = entries(0..<keys, version: 1)
        var start = Clock.monotonicNanos()
        try store.write(all)
        try store.checkpoint(to: root + "/chk-1")
        let full = Double(Clock.monotonicNanos() - start) / 1e9
        let fullBytes = directorySize(root + "/chk-1", excludingInodesOf: nil)

        // 1% of the keys change: every hundredth.
        var batch = StoreBatch()
        for i in stride(from: 0, to: keys, by: 100) { batch.operations += entries(i..<(i + 1), version: 2).operations }
        start = Clock.monotonicNanos()
        try store.write(batch)
        try store.checkpoint(to: root + "/chk-2")
        let incremental = Double(Clock.monotonicNanos() - start) / 1e9
        let newBytes = directorySize(root + "/chk-2", excludingInodesOf: root + "/chk-1")

        let restored = try RocksDBStateStore(directory: root + "/restored")
        start = Clock.monotonicNanos()
        _ = try restored.ingest(checkpoint: root + "/chk-2", keyGroups: 0...127) { _ in true }
        let restore = Double(Clock.monotonicNanos() - start) / 1e9
        return CheckpointFigures(fullSeconds: full, fullBytes: fullBytes, incrementalSeconds: incremental,
                                 incrementalNewBytes: newBytes, restoreSeconds: restore)
    }

    /// Bytes of the files in `directory`, not counting files hard-linked from `other` (shared with it).
    static func directorySize(_ directory: String, excludingInodesOf other: String?) -> Int {
        func inodes(_ dir: String) -> [UInt64: Int] {
            var result: [UInt64: Int] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                var st = stat()
                if stat(dir + "/" + name, &st) == 0 { result[UInt64(st.st_ino)] = Int(st.st_size) }
            }
            return result
        }
        let shared = other.map { Set(inodes($0).keys) } ?? []
        return inodes(directory).filter { !shared.contains($0.key) }.values.reduce(0, +)
    }
}
