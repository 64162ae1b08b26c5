import Foundation
import KVStreamRocksDB
import Testing

@testable import KVStream
@testable import KVStreamTesting

/// Counts records per key in value state and emits each key's count when event time ends.
struct CountPerKey: KeyedProcessFunction {
    var count: ValueState<String, Int64>!

    mutating func open(_ context: KeyedContext<String>) { count = context.valueState("count") }

    mutating func processElement(_ value: Item, context: KeyedContext<String>, out: inout Collector<SumRow>) {
        if count.value == nil { context.registerEventTimeTimer(Watermark.endOfTime - 1) }
        count.update((count.value ?? 0) + 1)
    }

    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<String>,
                          out: inout Collector<SumRow>) {
        out.emit(SumRow(key: context.key, windowStart: 0, sum: count.value ?? 0))
    }
}

/// Part of ``RuntimeTests`` so that it never runs beside the memory-bound test.
extension RuntimeTests {
    static func bigStateJob(_ records: [(value: Item, timestamp: Int64)]) -> JobDefinition {
        JobDefinition(name: "big-state", summary: "test") { job in
            let source = job.source("items", arraySource(records), watermarks: .boundedOutOfOrderness(.zero))
            source.keyBy { $0.key }.process("count") { CountPerKey() }.sink("out", table: "counts")
            source.keyBy { $0.key }.window(TumblingWindows.of(.seconds(60)))
                .aggregate("sums", SumAggregate()) { key, window, sum in SumRow(key: key, windowStart: window.start, sum: sum) }
                .sink("out", table: "sums")
        }
    }

    @Test func stateTwentyTimesTheCacheMatchesMemory() async throws {
        // 50k distinct keys against a cache of 2.5k entries per state: most reads and writes go to RocksDB.
        // (`make bench` runs the same with 2M keys and a 100k cache, in release mode.)
        var records: [(value: Item, timestamp: Int64)] = []
        for i in 0..<80_000 { records.append((Item("k\(i % 50_000)", Int64(i % 7)), Int64(i))) }
        let settings = topology(parallelism: 2, count: records.count) + "\n[state]\ncache_entries = 2500\n"
        let memory = try await JobTestHarness.run(Self.bigStateJob(records), settings: settings)
        let rocks = try await JobTestHarness.run(
            Self.bigStateJob(records), settings: settings, stateStore: RocksDBStateStore.factory(blockCacheMegabytes: 16))
        #expect(rocks.rows("counts", as: SumRow.self).count == 50_000)
        let memoryCounts = Set(memory.rows("counts", as: SumRow.self))
        #expect(memoryCounts.count == 50_000)
        #expect(Set(rocks.rows("counts", as: SumRow.self)) == memoryCounts)
        #expect(Set(rocks.rows("sums", as: SumRow.self)) == Set(memory.rows("sums", as: SumRow.self)))
        let total = records.reduce(Int64(0)) { $0 + $1.value.value }
        #expect(memory.rows("sums", as: SumRow.self).reduce(Int64(0)) { $0 + $1.sum } == total)
    }

    @Test func storeRoundTripsAndCheckpointsIngestByKeyGroup() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-rocks-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try RocksDBStateStore(directory: root + "/a")
        let table = try store.table("v:op::count")
        var batch = StoreBatch()
        for group in [0, 5, 100] { batch.put(table, key: [0, UInt8(group), 1], value: [UInt8(group)]) }
        try store.write(batch)
        #expect(try store.get(table, key: [0, 5, 1]) == [5])
        try store.checkpoint(to: root + "/chk")
        let other = try RocksDBStateStore(directory: root + "/b")
        let names = try other.ingest(checkpoint: root + "/chk", keyGroups: 0...63) { _ in true }
        #expect(names == ["v:op::count"])
        let copy = try other.table("v:op::count")
        #expect(try other.get(copy, key: [0, 5, 1]) == [5])
        #expect(try other.get(copy, key: [0, 100, 1]) == nil)  // key group 100 belongs to another instance
    }

    /// A large window that outlives a checkpoint (a day of many customers) is written whole once, then only its
    /// changed keys at each write-back; small windows are still written whole. The store ends equal either way.
    @Test func largeLongLivedWindowsWriteBackOnlyChangedKeys() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-rocks-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = CountingStore(try RocksDBStateStore(directory: root))
        let backend = TaskStateBackend(store: store, cacheLimit: 1_000_000)
        let table = backend.windowTable("op::windows", key: String.self, accumulator: Int64.self)
        let day = TimeWindow(start: 0, end: 86_400_000)
        let minute = TimeWindow(start: 0, end: 60_000)
        let keys = (0..<5_000).map { "c\($0)" }
        for key in keys { table.update(key, day) { $0 = 1 } }
        for key in keys.prefix(100) { table.update(key, minute) { $0 = 1 } }
        table.writeBack()
        #expect(store.puts == 5_100)
        for key in ["c1", "c2", "c1"] { table.update(key, day) { $0! += 1 } }
        table.update("c3", minute) { $0! += 1 }
        store.puts = 0
        table.writeBack()
        #expect(store.puts == 2 + 100)  // two keys of the day, the whole minute
        table.writeBack()
        #expect(store.puts == 2 + 100)  // nothing changed since
        table.removeWindow(minute)
        #expect(table.get("c1", day) == 3)
        var stored: [String: Int64] = [:]
        try store.scan(table.backing!.table, prefix: StoreBinding.windowPrefix(day)) { k, v in
            let (key, value) = table.decodeStored(day, k, v)!
            stored[key] = value
            return true
        }
        #expect(stored.count == 5_000 && stored["c1"] == 3 && stored["c2"] == 2 && stored["c3"] == 1)
    }
}

/// A store that counts the puts written through it.
final class CountingStore: StateStore {
    let inner: StateStore
    var puts = 0

    init(_ inner: StateStore) { self.inner = inner }

    func table(_ name: String) throws -> StoreTableID { try inner.table(name) }
    func get(_ table: StoreTableID, key: [UInt8]) throws -> [UInt8]? { try inner.get(table, key: key) }
    func write(_ batch: StoreBatch) throws {
        puts += batch.operations.filter { $0.value != nil }.count
        try inner.write(batch)
    }
    func scan(
        _ table: StoreTableID, prefix: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws { try inner.scan(table, prefix: prefix, body) }
    func checkpoint(to directory: String) throws { try inner.checkpoint(to: directory) }
    func ingest(checkpoint directory: String, keyGroups: ClosedRange<Int>, include: (String) -> Bool) throws -> [String] {
        try inner.ingest(checkpoint: directory, keyGroups: keyGroups, include: include)
    }
    var approximateSize: Int { inner.approximateSize }
}
