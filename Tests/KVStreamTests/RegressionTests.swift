import Foundation
import KVStreamJobs
import KVStreamPayments
import KVStreamTesting
import Testing

@testable import KVStream

/// Defects found in review, each pinned by a test.
@Suite struct RegressionTests {
    @Test func largestValidAmountsSumWithoutOverflow() throws {
        // SPEC allows amounts up to 9999999999999999.99; twelve of them overflow 64-bit cents.
        let big = try PaymentDecoding.decode(
            #"{"event_id":"e1","ts":1000,"customer_id":"c","merchant_id":"m","service":"deposit","amount":9999999999999999.99,"currency":"KES","channel":"web","country":"KE"}"#
        ).get()
        var acc = SalesAggregate().createAccumulator()
        for _ in 0..<12 { SalesAggregate().add(big, to: &acc) }
        let row = SalesPerMinuteRow(key: SalesKey(channel: .web, country: "KE"), window: TimeWindow(start: 0, end: 60_000),
                                    accumulator: acc, updatedAt: 0)
        var encoder = JSONRowEncoder(columns: SalesPerMinuteRow.schema.columns.map(\.name))
        encoder.beginRow()
        row.encode(to: &encoder)
        encoder.endRow()
        let json = String(decoding: encoder.buffer, as: UTF8.self)
        #expect(json.contains(#""amount_sum":119999999999999999.88"#))
        #expect(json.contains(#""amount_max":9999999999999999.99"#))
        var w = BinaryWriter()
        acc.encode(to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try SalesAccumulator(from: &r).sumCents == acc.sumCents)
    }

    @Test func processingTimeOutputIntoAWindowDoesNotTrap() throws {
        // A processing-time timer fires before any watermark: its output must get a usable timestamp.
        let h = try OperatorTestHarness<Item, Int64> { input in
            input.keyBy { $0.key }.process("remind") { Reminder() }
                .map { Item($0, 1) }
                .keyBy { $0.key }.window(TumblingWindows.of(.seconds(10)))
                .aggregate("count", SumAggregate()) { _, _, sum in sum }
        }
        h.push(Item("a", 5_000), at: 1)
        h.processingTime(5_000)
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues == [1])
    }

    @Test func extremeTimestampsDoNotTrapWindows() throws {
        let h = try OperatorTestHarness<Item, Int64> { input in
            input.keyBy { $0.key }.window(SlidingWindows.of(.seconds(10), every: .seconds(5)))
                .allowedLateness(.days(1))
                .aggregate("sum", SumAggregate()) { _, _, sum in sum }
        }
        h.push([Item("a", 1), Item("a", 2)], timestamps: [.min, .max])
        h.watermark(Watermark.endOfTime)
        #expect(h.outputValues.count >= 2)
    }

    @Test func equalKeysEncodeEqually() {
        func bytes<T: BinaryCodable>(_ v: T) -> [UInt8] {
            var w = BinaryWriter()
            v.encode(to: &w)
            return w.bytes
        }
        #expect(bytes(0.0) == bytes(-0.0))
        #expect(bytes(Double.nan) == bytes(-Double.nan))
        let letters = (0..<200).map { "k\($0)" }
        #expect(bytes(Set(letters)) == bytes(Set(letters.reversed())))
    }

    @Test func stopDoesNotFireWindowsAcrossAnExchange() async throws {
        // Ending without the end of time (a stop) must leave windows unfired behind a keyed exchange too.
        // 20,000 records at 5,000/s take 4 s: the stop (after 300 ms, later on a loaded machine) comes while the
        // source still reads, so the windows the watermark passed may fire, and those it did not must not.
        let records = items(count: 20_000, keys: 4)
        let store = try await JobTestHarness.run(
            windowedSumJob(records),
            settings: topology(parallelism: 2, count: records.count).replacingOccurrences(
                of: "type = \"generator\"", with: "type = \"generator\"\nrate = 5000"),
            bounded: false)
        // A window fired by the watermark holds all its records; one fired by a stop (as if at the end of time)
        // would be the last, partial one.
        var totals: [Int64: Int64] = [:]
        for row in store.rows("sums", as: SumRow.self) { totals[row.windowStart, default: 0] += row.sum }
        for (start, total) in totals {
            let full = (start..<(start + 1_000)).reduce(Int64(0)) { $0 + $1 % 13 }
            #expect(total == full, "window \(start) fired with \(total) of \(full): a stop fired a partial window")
        }
        #expect(totals.count < records.count / 1_000, "every window fired: the stop reached the end of time")
    }

    @Test func declarationMistakesAreReportedAtStart() {
        let duplicate = JobDefinition(name: "dup", summary: "") { job in
            let s = job.source("items", arraySourceForTests(), watermarks: .boundedOutOfOrderness(.zero))
            for _ in 0..<2 {
                s.keyBy { $0.key }.window(TumblingWindows.of(.seconds(1)))
                    .aggregate("sums", SumAggregate()) { key, w, sum in SumRow(key: key, windowStart: w.start, sum: sum) }
                    .sink("out", table: "t\(Int.random(in: 0...1_000_000))")
            }
        }
        #expect(throws: JobDefinitionError.self) { try duplicate.logicalGraph() }

        let mismatch = JobDefinition(name: "tags", summary: "") { job in
            let s = job.source("items", arraySourceForTests(), watermarks: .boundedOutOfOrderness(.zero))
            s.sideOutput(OutputTag<Int>("rejected")).map { ItemRow(item: Item("x", Int64($0))) }.sink("out", table: "t")
        }
        #expect(throws: JobDefinitionError.self) { try mismatch.logicalGraph() }

        let earlySessions = JobDefinition(name: "sessions", summary: "") { job in
            job.source("items", arraySourceForTests(), watermarks: .boundedOutOfOrderness(.zero))
                .keyBy { $0.key }.window(SessionWindows.withGap(.seconds(1))).trigger(.earlyFiring(every: .seconds(1)))
                .aggregate("s", SumAggregate()) { key, w, sum in SumRow(key: key, windowStart: w.start, sum: sum) }
                .sink("out", table: "t")
        }
        #expect(throws: JobDefinitionError.self) { try earlySessions.logicalGraph() }
    }
}
