import Testing

@testable import KVStream

/// A record for window tests: a key and a value.
struct Item: Hashable, StateValue {
    var key: String
    var value: Int64

    init(_ key: String, _ value: Int64) {
        self.key = key
        self.value = value
    }

    func encode(to writer: inout BinaryWriter) {
        key.encode(to: &writer)
        value.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        key = try String(from: &reader)
        value = try Int64(from: &reader)
    }
}

struct SumAggregate: AggregateFunction {
    func createAccumulator() -> Int64 { 0 }
    func add(_ value: Item, to acc: inout Int64) { acc += value.value }
    func result(_ acc: Int64) -> Int64 { acc }
    func merge(_ a: Int64, _ b: Int64) -> Int64 { a + b }
}

struct Result: Sendable, Hashable {
    var key: String
    var start: Int64
    var sum: Int64
}

@Suite struct WindowOperatorTests {
    static let late = OutputTag<LateRecord<Item>>("late")

    func tumbling(lateness: TimeSpan = .zero, trigger: WindowTrigger = .eventTime) throws
        -> OperatorTestHarness<Item, Result>
    {
        try OperatorTestHarness<Item, Result> { input in
            input.keyBy { $0.key }
                .window(TumblingWindows.of(.seconds(10)))
                .allowedLateness(lateness)
                .trigger(trigger)
                .sideOutputLateData(Self.late)
                .aggregate("sum", SumAggregate()) { key, window, sum in Result(key: key, start: window.start, sum: sum) }
        }
    }

    @Test func firesWhenWatermarkPassesWindowEnd() throws {
        let h = try tumbling()
        h.push([Item("a", 1), Item("a", 2), Item("b", 5), Item("a", 4)], timestamps: [1_000, 9_999, 3_000, 10_000])
        h.watermark(9_998)
        #expect(h.outputValues.isEmpty)
        h.watermark(9_999)
        #expect(Set(h.outputValues) == [Result(key: "a", start: 0, sum: 3), Result(key: "b", start: 0, sum: 5)])
        #expect(h.output.allSatisfy { $0.timestamp == 9_999 })
        #expect(h.watermarks == [9_998, 9_999])
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues.last == Result(key: "a", start: 10_000, sum: 4))
    }

    @Test func lateRecordsWithoutLatenessGoToSideOutput() throws {
        let h = try tumbling()
        h.watermark(10_000)
        h.push(Item("a", 7), at: 9_000)
        #expect(h.outputValues.isEmpty)
        #expect(h.sideOutput(Self.late).map(\.value) == [Item("a", 7)])
        #expect(h.sideOutput(Self.late).first?.watermark == 10_000)
        #expect(h.metrics.recordsLate.load(ordering: .relaxed) == 1)
    }

    @Test func allowedLatenessUpdatesFiredWindows() throws {
        let h = try tumbling(lateness: .seconds(5))
        h.push(Item("a", 1), at: 1_000)
        h.watermark(10_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
        // Within the allowed lateness: the result is emitted again, updated, at once.
        h.push(Item("a", 2), at: 2_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 3)])
        // The window is dropped once the watermark passes end + lateness (9_999 + 5_000).
        h.watermark(14_999)
        h.push(Item("a", 4), at: 3_000)
        #expect(h.drainOutput().isEmpty)
        #expect(h.sideOutput(Self.late).count == 1)
    }

    @Test func earlyFiringEmitsChangedWindowsOnly() throws {
        let h = try tumbling(trigger: .earlyFiring(every: .seconds(10)))
        h.processingTime(0)  // arms the early-firing clock
        h.push([Item("a", 1), Item("b", 2)], timestamps: [1_000, 2_000])
        h.processingTime(5_000)
        #expect(h.outputValues.isEmpty)
        h.processingTime(10_000)
        #expect(Set(h.drainOutput()) == [Result(key: "a", start: 0, sum: 1), Result(key: "b", start: 0, sum: 2)])
        h.push(Item("a", 10), at: 3_000)
        h.processingTime(20_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 11)])
        h.processingTime(30_000)
        #expect(h.drainOutput().isEmpty)
        h.watermark(9_999)
        #expect(Set(h.drainOutput()) == [Result(key: "a", start: 0, sum: 11), Result(key: "b", start: 0, sum: 2)])
    }

    @Test func earlyFiringThenFinalResultThenLateUpdates() throws {
        let h = try tumbling(lateness: .seconds(5), trigger: .earlyFiring(every: .seconds(10)))
        h.processingTime(0)
        h.push([Item("a", 1), Item("b", 2)], timestamps: [1_000, 2_000])
        h.processingTime(10_000)
        #expect(Set(h.drainOutput()) == [Result(key: "a", start: 0, sum: 1), Result(key: "b", start: 0, sum: 2)])
        // Changed since the early result, then final: the final result is exact and covers every key.
        h.push(Item("a", 10), at: 3_000)
        h.watermark(9_999)
        #expect(Set(h.drainOutput()) == [Result(key: "a", start: 0, sum: 11), Result(key: "b", start: 0, sum: 2)])
        // A fired window is no longer fired early: the change above was covered by the final result.
        h.processingTime(20_000)
        #expect(h.drainOutput().isEmpty)
        // Within the allowed lateness a record updates the row at once, and only once.
        h.push(Item("a", 100), at: 4_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 111)])
        h.processingTime(30_000)
        #expect(h.drainOutput().isEmpty)
        // Past it, the record is late.
        h.watermark(14_999)
        h.push(Item("a", 1_000), at: 5_000)
        h.processingTime(40_000)
        #expect(h.drainOutput().isEmpty)
        #expect(h.sideOutput(Self.late).map(\.value) == [Item("a", 1_000)])
    }

    @Test func earlyFiringVisitsOnlyChangedEntries() throws {
        let h = try tumbling(trigger: .earlyFiring(every: .seconds(10)))
        h.processingTime(0)
        let keys = (0..<1_000).map { "k\($0)" }
        h.push(keys.map { Item($0, 1) }, timestamps: keys.map { _ in 1_000 })
        h.push(Item("k7", 1), at: 15_000)  // another window
        h.processingTime(10_000)
        #expect(h.drainOutput().count == 1_001)
        // Three changes to one key of one window: one result, with all three.
        h.push([Item("k42", 1), Item("k42", 1), Item("k42", 1)], timestamps: [2_000, 3_000, 4_000])
        h.processingTime(20_000)
        #expect(h.drainOutput() == [Result(key: "k42", start: 0, sum: 4)])
        // Changes in both windows, each emitted for its own window.
        h.push([Item("k7", 5), Item("k7", 5)], timestamps: [5_000, 16_000])
        h.processingTime(30_000)
        #expect(h.drainOutput() == [Result(key: "k7", start: 0, sum: 6), Result(key: "k7", start: 10_000, sum: 6)])
        h.processingTime(40_000)
        #expect(h.drainOutput().isEmpty)
    }

    @Test func earlyFiringIsAlignedToMultiplesOfTheInterval() throws {
        let h = try tumbling(trigger: .earlyFiring(every: .seconds(10)))
        h.processingTime(12_345)  // arms the clock for 20_000
        h.push(Item("a", 1), at: 1_000)
        h.processingTime(19_999)
        #expect(h.outputValues.isEmpty)
        h.processingTime(20_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
        // Ticks that skip past several deadlines fire once, and the clock stays on the grid.
        h.push(Item("a", 1), at: 1_000)
        h.processingTime(47_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 2)])
        h.push(Item("a", 1), at: 1_000)
        h.processingTime(49_999)
        #expect(h.drainOutput().isEmpty)
        h.processingTime(50_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 3)])
    }

    @Test func withoutEarlyFiringProcessingTimeEmitsNothing() throws {
        let h = try tumbling()
        h.push(Item("a", 1), at: 1_000)
        for now in stride(from: Int64(0), through: 100_000, by: 10_000) { h.processingTime(now) }
        #expect(h.outputValues.isEmpty)
        h.watermark(9_999)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
    }

    @Test func earlyFiringOnSlidingWindowsEmitsEachChangedWindow() throws {
        let h = try OperatorTestHarness<Item, Result> { input in
            input.keyBy { $0.key }
                .window(SlidingWindows.of(.seconds(10), every: .seconds(5)))
                .trigger(.earlyFiring(every: .seconds(1)))
                .aggregate("sum", SumAggregate()) { key, window, sum in Result(key: key, start: window.start, sum: sum) }
        }
        h.processingTime(0)
        h.push(Item("a", 1), at: 6_000)
        h.processingTime(1_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1), Result(key: "a", start: 5_000, sum: 1)])
        h.watermark(9_999)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
        h.push(Item("a", 2), at: 12_000)
        h.processingTime(2_000)
        #expect(h.drainOutput() == [Result(key: "a", start: 5_000, sum: 3), Result(key: "a", start: 10_000, sum: 2)])
    }

    /// A restored operator emits early exactly what the checkpointed one had not: changes after its last early
    /// firing. Results already emitted before the checkpoint are not repeated, and fired windows stay fired.
    @Test func earlyFiringAfterRestoreEmitsWhatWasNotEmittedBeforeTheCheckpoint() throws {
        let build: (Stream<Item>) throws -> Stream<Result> = { input in
            input.keyBy { $0.key }
                .window(TumblingWindows.of(.seconds(10)))
                .allowedLateness(.seconds(60))
                .trigger(.earlyFiring(every: .seconds(10)))
                .aggregate("sum", SumAggregate()) { key, window, sum in Result(key: key, start: window.start, sum: sum) }
        }
        let first = try OperatorTestHarness<Item, Result>(build)
        first.processingTime(0)
        first.push(Item("a", 1), at: 1_000)
        first.processingTime(10_000)
        #expect(first.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
        first.push(Item("a", 2), at: 2_000)  // marks a's entry, then the window fires with it
        first.watermark(9_999)
        #expect(first.drainOutput() == [Result(key: "a", start: 0, sum: 3)])
        first.push([Item("b", 5), Item("z", 9)], timestamps: [12_000, 13_000])
        first.processingTime(20_000)
        #expect(Set(first.drainOutput()) == [
            Result(key: "b", start: 10_000, sum: 5), Result(key: "z", start: 10_000, sum: 9),
        ])
        first.push([Item("b", 1), Item("c", 7)], timestamps: [14_000, 15_000])
        let snapshot = try first.snapshot()

        let second = try OperatorTestHarness<Item, Result>(restoring: snapshot, build)
        second.processingTime(100_000)
        #expect(second.outputValues.isEmpty)
        second.processingTime(110_000)
        #expect(Set(second.drainOutput()) == [
            Result(key: "b", start: 10_000, sum: 6), Result(key: "c", start: 10_000, sum: 7),
        ])
        second.processingTime(120_000)
        #expect(second.drainOutput().isEmpty)
        // The final results equal an uninterrupted run's.
        first.watermark(Watermark.endOfTime)
        second.watermark(Watermark.endOfTime)
        let finals = Set(first.drainOutput())
        #expect(finals == [
            Result(key: "b", start: 10_000, sum: 6), Result(key: "c", start: 10_000, sum: 7),
            Result(key: "z", start: 10_000, sum: 9),
        ])
        #expect(Set(second.drainOutput()) == finals)
    }

    @Test func slidingWindowsCountEachRecordInEveryWindow() throws {
        let h = try OperatorTestHarness<Item, Result> { input in
            input.keyBy { $0.key }
                .window(SlidingWindows.of(.seconds(10), every: .seconds(5)))
                .aggregate("sum", SumAggregate()) { key, window, sum in Result(key: key, start: window.start, sum: sum) }
        }
        h.push([Item("a", 1), Item("a", 10)], timestamps: [6_000, 12_000])
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues == [
            Result(key: "a", start: 0, sum: 1), Result(key: "a", start: 5_000, sum: 11),
            Result(key: "a", start: 10_000, sum: 10),
        ])
    }

    @Test func sessionWindowsMergeAcrossGaps() throws {
        let h = try OperatorTestHarness<Item, Result> { input in
            input.keyBy { $0.key }
                .window(SessionWindows.withGap(.seconds(5)))
                .aggregate("sum", SumAggregate()) { key, window, sum in Result(key: key, start: window.start, sum: sum) }
        }
        h.push([Item("a", 1), Item("a", 2), Item("b", 100)], timestamps: [0, 10_000, 1_000])
        h.watermark(4_999)
        #expect(h.drainOutput() == [Result(key: "a", start: 0, sum: 1)])
        // Later records of "b" extend its session [1_000, 6_000) to [1_000, 14_000).
        h.push([Item("b", 1), Item("b", 1)], timestamps: [5_000, 9_000])
        h.watermark(Watermark.endOfTime)
        #expect(Set(h.drainOutput()) == [Result(key: "a", start: 10_000, sum: 2), Result(key: "b", start: 1_000, sum: 102)])
    }

    @Test func fullWindowProcessSeesAllRecords() throws {
        let h = try OperatorTestHarness<Item, String> { input in
            input.keyBy { $0.key }
                .window(TumblingWindows.of(.seconds(10)))
                .process("list") { key, window, items, out in
                    out.emit("\(key)@\(window.start): \(items.map(\.value).sorted())")
                }
        }
        h.push([Item("a", 3), Item("a", 1), Item("a", 2)], timestamps: [1, 2, 3])
        h.endOfInput()
        #expect(h.outputValues.isEmpty)  // end of input without the end of time keeps state (a stop, not a drain)
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues == ["a@0: [1, 2, 3]"])
    }

    @Test func reduceFolds() throws {
        let h = try OperatorTestHarness<Item, Int64> { input in
            input.keyBy { $0.key }.window(TumblingWindows.of(.seconds(10)))
                .reduce("max", { $0.value >= $1.value ? $0 : $1 }) { _, _, item in item.value }
        }
        h.push([Item("a", 3), Item("a", 9), Item("a", 2)], timestamps: [1, 2, 3])
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues == [9])
    }
}
