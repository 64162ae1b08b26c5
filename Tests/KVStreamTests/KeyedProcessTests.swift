import Testing

@testable import KVStream

/// Counts records per key and emits the count once the watermark passes one second after the key's first
/// record; also exercises list and map state.
struct CountThenEmit: KeyedProcessFunction {
    var count: ValueState<String, Int64>!
    var seen: ListState<String, Int64>!
    var byValue: MapState<String, Int64, Int64>!

    mutating func open(_ context: KeyedContext<String>) {
        count = context.valueState("count")
        seen = context.listState("seen")
        byValue = context.mapState("byValue")
    }

    mutating func processElement(_ value: Item, context: KeyedContext<String>, out: inout Collector<String>) {
        if count.value == nil { context.registerEventTimeTimer(context.timestamp + 1_000) }
        count.update((count.value ?? 0) + 1)
        seen.append(value.value)
        byValue[value.value] = (byValue[value.value] ?? 0) + 1
    }

    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<String>,
                          out: inout Collector<String>) {
        out.emit("\(context.key)=\(count.value ?? 0) seen=\(seen.values) distinct=\(byValue.entries.count)")
        count.clear()
        seen.clear()
        byValue.clear()
    }
}

/// Emits a line when a processing-time timer fires.
struct Reminder: KeyedProcessFunction {
    mutating func processElement(_ value: Item, context: KeyedContext<String>, out: inout Collector<String>) {
        context.registerProcessingTimeTimer(value.value)
    }

    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<String>,
                          out: inout Collector<String>) {
        out.emit("\(context.key)@\(timestamp)")
    }
}

@Suite struct KeyedProcessTests {
    @Test func stateIsPerKeyAndTimersFireInOrder() throws {
        let h = try OperatorTestHarness<Item, String> { $0.keyBy { $0.key }.process("count") { CountThenEmit() } }
        h.push([Item("a", 1), Item("b", 2), Item("a", 1), Item("a", 3)], timestamps: [100, 50, 200, 300])
        h.watermark(1_049)
        #expect(h.drainOutput() == [])
        h.watermark(1_050)
        #expect(h.drainOutput() == ["b=1 seen=[2] distinct=1"])
        h.watermark(2_000)
        #expect(h.drainOutput() == ["a=3 seen=[1, 1, 3] distinct=2"])
        // State was cleared: a new record starts over.
        h.push(Item("a", 5), at: 2_500)
        h.watermark(Watermark.endOfTime)
        #expect(h.drainOutput() == ["a=1 seen=[5] distinct=1"])
    }

    @Test func duplicateTimersFireOnce() throws {
        let h = try OperatorTestHarness<Item, String> { $0.keyBy { $0.key }.process("remind") { Reminder() } }
        h.push([Item("a", 1_000), Item("a", 1_000), Item("b", 500)], timestamps: [1, 2, 3])
        h.processingTime(999)
        #expect(h.drainOutput() == ["b@500"])
        h.processingTime(1_000)
        #expect(h.drainOutput() == ["a@1000"])
    }

    @Test func drainedEndFiresProcessingTimersButStopKeepsThem() throws {
        let stop = try OperatorTestHarness<Item, String> { $0.keyBy { $0.key }.process("remind") { Reminder() } }
        stop.push(Item("a", 99_000), at: 1)
        stop.endOfInput()
        #expect(stop.outputValues.isEmpty)

        let drain = try OperatorTestHarness<Item, String> { $0.keyBy { $0.key }.process("remind") { Reminder() } }
        drain.push(Item("a", 99_000), at: 1)
        drain.watermark(Watermark.endOfTime)
        drain.endOfInput()
        #expect(drain.outputValues == ["a@99000"])
    }

    @Test func statelessOperatorsChain() throws {
        let h = try OperatorTestHarness<Int, String> { input in
            input.filter { $0 % 2 == 0 }.map { $0 * 10 }.flatMap { v, out in
                out.emit("\(v)")
                out.emit("\(v + 1)", timestamp: 7)
            }
        }
        h.push([1, 2, 3, 4], timestamps: [10, 20, 30, 40])
        #expect(h.output.map(\.value) == ["20", "21", "40", "41"])
        #expect(h.output.map(\.timestamp) == [20, 7, 40, 7])
    }
}

/// Remembers the last value per key for 50 ms of processing time.
struct Remember: KeyedProcessFunction {
    var last: ValueState<String, Int64>!
    var all: ListState<String, Int64>!

    mutating func open(_ context: KeyedContext<String>) {
        last = context.valueState("last", ttl: .milliseconds(50))
        all = context.listState("all", ttl: .milliseconds(50))
    }

    mutating func processElement(_ value: Item, context: KeyedContext<String>, out: inout Collector<String>) {
        if value.value < 0 {
            out.emit("\(context.key): last=\(last.value.map(String.init) ?? "none") all=\(all.values)")
        } else {
            last.update(value.value)
            all.append(value.value)
        }
    }
}

@Suite struct StateTTLTests {
    @Test func valuesExpireAfterTheirTimeToLive() async throws {
        let h = try OperatorTestHarness<Item, String> { $0.keyBy { $0.key }.process("remember") { Remember() } }
        h.push([Item("a", 1), Item("a", 2), Item("a", -1)], timestamps: [1, 2, 3])
        #expect(h.drainOutput() == ["a: last=2 all=[1, 2]"])
        try await Task.sleep(for: .milliseconds(80))
        h.push(Item("a", -1), at: 4)
        #expect(h.drainOutput() == ["a: last=none all=[]"])
        // A write starts a new life.
        h.push([Item("a", 7), Item("a", -1)], timestamps: [5, 6])
        #expect(h.drainOutput() == ["a: last=7 all=[7]"])
    }
}
