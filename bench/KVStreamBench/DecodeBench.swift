import Foundation
import KVStream
import KVStreamJobs
import KVStreamPayments

/// (f) Decoding payment JSON as the jobs' sources do (``paymentEvents``: every SPEC section 2 rule checked, a
/// `Payment` built), beside Foundation's `JSONSerialization` parsing the same messages into dictionaries without
/// any check: one thread, no runtime around it, so that the decoder's own cost is seen apart from the Kafka
/// benchmark's noise.
enum DecodeBench {
    static func run(_ events: [(value: Payment, timestamp: Int64)], repeats: Int) throws {
        let count = min(events.count, 1_000_000)
        var bytes: [UInt8] = []
        var bounds: [Int] = [0]
        for (payment, _) in events.prefix(count) {
            payment.appendJSON(to: &bytes)
            bounds.append(bytes.count)
        }
        let repeats = max(repeats, 1)
        func forEachLine(_ body: (UnsafeRawBufferPointer) -> Void) {
            bytes.withUnsafeBytes { all in
                for i in 0..<count { body(UnsafeRawBufferPointer(rebasing: all[bounds[i]..<bounds[i + 1]])) }
            }
        }
        var checksum: Int64 = 0
        let ours = try Bench.measure(repeats) {
            forEachLine { line in
                if case .success(let payment) = paymentEvents.decode(line) { checksum &+= payment.amountCents }
            }
        }.seconds
        let expected = events.prefix(count).reduce(Int64(0)) { $0 &+ $1.value.amountCents }
        try Bench.check(checksum == expected &* Int64(repeats), "decode", checksum, expected)
        // As the source readers call it: decoded and appended to a batch, sent on every 1,024 records.
        var batch = RecordBatch<Payment>(reservingCapacity: BatchSize.default)
        var batchChecksum: Int64 = 0
        let appended = try Bench.measure(repeats) {
            forEachLine { line in
                _ = paymentEvents.append(decoding: line, to: &batch)
                if batch.count == BatchSize.default {
                    for payment in batch.values { batchChecksum &+= payment.amountCents }
                    batch.removeAll()
                }
            }
        }.seconds
        for payment in batch.values { batchChecksum &+= payment.amountCents }
        try Bench.check(batchChecksum == expected &* Int64(repeats), "decode into batches", batchChecksum, expected)
        let data = Data(bytes)
        var parsed = 0
        let foundation = try Bench.measure(repeats) {
            for i in 0..<count {
                let line = data[bounds[i]..<bounds[i + 1]]
                if (try? JSONSerialization.jsonObject(with: line)) is [String: Any] { parsed += 1 }
            }
        }.seconds
        try Bench.check(parsed == count * repeats, "foundation parse", parsed, count)
        Bench.report("payment JSON -> Payment, validated (paymentEvents.decode), 1 thread, \(count) messages",
                     rate: Double(count) / ours, baseline: Double(count) / foundation,
                     baselineName: "JSONSerialization parse only")
        print(String(format: "payment JSON decode: %.0f ns per message, %.0f ns into batches (JSONSerialization: %.0f ns)",
                     ours * 1e9 / Double(count), appended * 1e9 / Double(count), foundation * 1e9 / Double(count)))
    }
}
