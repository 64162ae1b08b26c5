import Foundation
import Synchronization
import Testing

@testable import KVStream
@testable import KVStreamTesting

/// A windowed sum per key, as a row.
struct SumRow: SinkRow, Hashable {
    var key: String
    var windowStart: Int64
    var sum: Int64

    static let schema = TableSchema(
        columns: [Column("key", .string), Column("window_start", .timestamp), Column("sum", .int64)],
        primaryKey: ["key", "window_start"], mode: .upsert)

    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(key)
        encoder.timestamp(windowStart)
        encoder.int64(sum)
    }
}

/// A record passed through as a row (for sinks without windows).
struct ItemRow: SinkRow {
    var item: Item
    static let schema = TableSchema(columns: [Column("key", .string), Column("value", .int64)])
    func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(item.key)
        encoder.int64(item.value)
    }
}

func topology(parallelism: Int, count: Int, splits: Int = 1) -> String {
    """
    [job]
    parallelism = \(parallelism)
    [sources.items]
    type = "generator"
    count = \(count)
    splits = \(splits)
    [sinks.out]
    type = "memory"
    """
}

/// Items with in-order timestamps, 1 ms apart, over `keys` keys.
func items(count: Int, keys: Int) -> [(value: Item, timestamp: Int64)] {
    (0..<count).map { i in (Item("k\(i * 7919 % keys)", Int64(i % 13)), Int64(i)) }
}

func windowedSumJob(_ records: [(value: Item, timestamp: Int64)]) -> JobDefinition {
    JobDefinition(name: "windowed-sum", summary: "test") { job in
        let source = job.source("items", arraySource(records), watermarks: .boundedOutOfOrderness(.zero))
        let sums = source.keyBy { $0.key }.window(TumblingWindows.of(.seconds(1)))
            .aggregate("sum", SumAggregate()) { key, window, sum in SumRow(key: key, windowStart: window.start, sum: sum) }
        sums.sink("out", table: "sums")
    }
}

/// Serialized: the memory-bound test reads the process's resident memory, which parallel tests would inflate.
@Suite(.serialized) struct RuntimeTests {
    @Test func resultsDoNotDependOnParallelism() async throws {
        let records = items(count: 50_000, keys: 100)
        var expected: [SumRow: Int] = [:]
        var sums: [String: Int64] = [:]
        for (item, ts) in records { sums["\(item.key)|\(ts / 1000 * 1000)", default: 0] += item.value }
        for (k, v) in sums {
            let parts = k.split(separator: "|")
            expected[SumRow(key: String(parts[0]), windowStart: Int64(parts[1])!, sum: v)] = 1
        }
        for (parallelism, splits) in [(1, 1), (3, 1), (4, 3)] {
            let store = try await JobTestHarness.run(
                windowedSumJob(records), settings: topology(parallelism: parallelism, count: records.count, splits: splits))
            let rows = store.rows("sums", as: SumRow.self)
            #expect(rows.count == expected.count, "parallelism \(parallelism)")
            #expect(Set(rows) == Set(expected.keys), "parallelism \(parallelism), \(splits) splits")
            #expect(store.metrics?.recordsLate == 0)
        }
    }

    @Test func endOfBoundedInputFiresEverything() async throws {
        // One record: its window can only fire because the end of input moves event time to the end of time.
        let store = try await JobTestHarness.run(
            windowedSumJob([(Item("only", 5), 123_456)]), settings: topology(parallelism: 2, count: 1))
        #expect(store.rows("sums", as: SumRow.self) == [SumRow(key: "only", windowStart: 123_000, sum: 5)])
    }

    @Test func unionMergesStreams() async throws {
        let records = items(count: 1_000, keys: 10)
        let job = JobDefinition(name: "union", summary: "test") { job in
            let source = job.source("items", arraySource(records), watermarks: .boundedOutOfOrderness(.zero))
            let evens = source.filter { $0.value % 2 == 0 }
            let odds = source.filter { $0.value % 2 == 1 }.map { Item($0.key, -$0.value) }
            evens.union(odds).keyBy { $0.key }.window(TumblingWindows.of(.seconds(100)))
                .aggregate("sum", SumAggregate()) { key, window, sum in SumRow(key: key, windowStart: window.start, sum: sum) }
                .sink("out", table: "sums")
        }
        let store = try await JobTestHarness.run(job, settings: topology(parallelism: 2, count: records.count))
        let expected = records.reduce(Int64(0)) { $0 + ($1.value.value % 2 == 0 ? $1.value.value : -$1.value.value) }
        #expect(store.rows("sums", as: SumRow.self).reduce(0) { $0 + $1.sum } == expected)
    }

    @Test func slowSinkHoldsMemoryAndInFlightRecordsBounded() async throws {
        // 400k records through a keyed exchange into a sink that takes 2 ms per batch: the source must be held
        // back by the bounded channels, so records read but not yet written stay within the channels' capacity.
        let records = items(count: 400_000, keys: 1_000)
        let job = JobDefinition(name: "slow-sink", summary: "test") { job in
            job.source("items", arraySource(records), watermarks: .boundedOutOfOrderness(.zero))
                .keyBy { $0.key }.process("pass") { PassThrough() }
                .map { ItemRow(item: $0) }
                .sink("out", table: "items")
        }
        let maxInFlight = Atomic<Int>(0)
        let baseline = residentBytes()
        let maxResident = Atomic<Int>(0)
        let store = try await JobTestHarness.run(
            job, settings: topology(parallelism: 2, count: records.count), sinkDelay: .milliseconds(2),
            channelCapacity: 4
        ) { metrics in
            let s = metrics.snapshot()
            maxInFlight.max(s.recordsIn - s.recordsOut)
            maxResident.max(residentBytes() - baseline)
        }
        #expect(store.rows("items", as: ItemRow.self).count == records.count)
        // 2 source instances x 2 targets x 4 queued batches x 1024 records, plus what each task holds: ~20k.
        let inFlight = maxInFlight.load(ordering: .relaxed)
        #expect(inFlight < 40_000, "records in flight peaked at \(inFlight)")
        let grown = maxResident.load(ordering: .relaxed)
        #expect(grown < 64 << 20, "resident memory grew by \(grown >> 20) MiB")
    }
}

extension RuntimeTests {
    /// A sink that stages asynchronously (the Kafka sink's flush) is awaited after every prepare, before the task
    /// acknowledges the checkpoint (every checkpoint completes, so none was acknowledged early and none hung), and
    /// closed only after its last staging.
    @Test func asynchronousStagingIsAwaitedBeforeEachAcknowledgement() async throws {
        let records = items(count: 200_000, keys: 100)
        let settings = topology(parallelism: 2, count: records.count) + "\n[checkpoint]\ninterval = \"20ms\"\n"
        let store = try await JobTestHarness.run(
            windowedSumJob(records), settings: settings, sinkDelay: .microseconds(200), stagingDelay: .milliseconds(5))
        let log = store.stagingLog
        #expect(!store.rows("sums", as: SumRow.self).isEmpty)
        for instance in ["0", "1"] {
            let own = log.filter { $0.split(separator: " ")[1] == instance }.map { $0.split(separator: " ")[0] }
            #expect(own.count >= 4, "instance \(instance) staged \(own.count / 2) times")
            #expect(own.last == "closed", "instance \(instance): \(own.suffix(3))")
            // prepare, staged, prepare, staged, ..., closed: each prepare awaited before anything else.
            let pairs = own.dropLast()
            #expect(pairs.count % 2 == 0 && zip(pairs, pairs.dropFirst()).enumerated().allSatisfy { i, pair in
                i % 2 == 0 ? pair == ("prepare", "staged") : pair == ("staged", "prepare")
            }, "instance \(instance): \(own.prefix(8))")
        }
    }
}

struct PassThrough: KeyedProcessFunction {
    mutating func processElement(_ value: Item, context: KeyedContext<String>, out: inout Collector<Item>) {
        out.emit(value)
    }
}

extension Atomic where Value == Int {
    func max(_ value: Int) {
        var current = load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// Resident set size of this process, from /proc.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = Int(text.split(separator: " ")[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
