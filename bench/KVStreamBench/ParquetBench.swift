import Foundation
import KVStream
import KVStreamLake
import KVStreamPayments

/// (e) The lake's Parquet writer: payment rows written to a file with LZ4_RAW and without compression, beside
/// pyarrow writing the same rows with the same compression, row group size and (in one setting) encodings, its
/// writes alternating with ours in the same run (`bench/parquet_bench.py`, which times only `pq.write_table` of
/// a table already in memory, and checks that our file reads back equal to it).
enum ParquetBench {
    /// A row of the lake's `payments_scored` shape: strings (few distinct, many distinct, unique), a timestamp, a
    /// decimal, doubles (nullable and not), an int64.
    struct PaymentRow: SinkRow {
        var payment: Payment
        var score: Double
        var offset: Int64

        static let schema = TableSchema(columns: [
            Column("event_id", .string), Column("event_time", .timestamp), Column("customer_id", .string),
            Column("merchant_id", .string), Column("service", .string),
            Column("amount", .decimal(precision: 18, scale: 2)), Column("currency", .string),
            Column("channel", .string), Column("country", .string), Column("lat", .double, nullable: true),
            Column("lon", .double, nullable: true), Column("device_id", .string, nullable: true),
            Column("beneficiary_id", .string, nullable: true), Column("score", .double),
            Column("offset", .int64),
        ])

        func encode<E: RowEncoder>(to encoder: inout E) {
            encoder.string(payment.eventId)
            encoder.timestamp(payment.ts)
            encoder.string(payment.customerId)
            encoder.string(payment.merchantId)
            encoder.string(payment.service.name)
            encoder.decimal(payment.amountCents, scale: 2)
            encoder.string(payment.currency)
            encoder.string(payment.channel.name)
            encoder.string(payment.country)
            encoder.double(payment.lat)
            encoder.double(payment.lon)
            encoder.string(payment.deviceId)
            encoder.string(payment.beneficiaryId)
            encoder.double(score)
            encoder.int64(offset)
        }

        /// Bytes of the values (UTF-8 of strings, 8 per number): the same for every writer, so MB/s compare.
        var valueBytes: Int {
            payment.eventId.utf8.count + payment.customerId.utf8.count + payment.merchantId.utf8.count
                + payment.service.name.utf8.count + payment.currency.utf8.count + payment.channel.name.utf8.count
                + payment.country.utf8.count + (payment.deviceId?.utf8.count ?? 0)
                + (payment.beneficiaryId?.utf8.count ?? 0) + 8 * (4 + (payment.lat == nil ? 0 : 2))
        }
    }

    static func rows(_ events: ArraySlice<(value: Payment, timestamp: Int64)>) -> [PaymentRow] {
        events.enumerated().map { i, event in
            PaymentRow(payment: event.value, score: Double(event.value.amountCents % 997) / 997, offset: Int64(i))
        }
    }

    /// Writes every row to a new file at `path`.
    static func write(_ rows: [PaymentRow], to path: String, options: ParquetWriterOptions) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot create \(path)") }
        defer { close(fd) }
        var writer = ParquetWriter(
            schema: PaymentRow.schema, options: options, output: ParquetFileDescriptorOutput(fileDescriptor: fd))
        try writer.write(contentsOf: rows)
        _ = try writer.finish()
        return Int(lseek(fd, 0, SEEK_END))
    }

    /// One write's wall-clock and CPU seconds (the process's, all threads) and file size.
    struct Timing {
        var wall: Double
        var cpu: Double
        var bytes: Int
    }

    /// Times one ``write(_:to:options:)``: from rows in memory to a closed file, as pyarrow's side is timed.
    static func timedWrite(_ rows: [PaymentRow], to path: String, options: ParquetWriterOptions) throws -> Timing {
        let (wall, cpu) = (Clock.monotonicNanos(), Bench.processCPUSeconds())
        let bytes = try write(rows, to: path, options: options)
        return Timing(wall: Double(Clock.monotonicNanos() - wall) / 1e9, cpu: Bench.processCPUSeconds() - cpu, bytes: bytes)
    }

    /// `bench/parquet_bench.py` in a `python3` process that holds the same rows as an Arrow table and writes them
    /// on request, so that its writes alternate with ours in the same run.
    final class Pyarrow {
        private(set) var version = ""
        private let process = Process()
        private let requests = Pipe()
        private let replies = Pipe()
        private var pending: [UInt8] = []

        /// Hands the rows over as JSON lines (loaded by the script before any timed write).
        init(_ rows: [PaymentRow], in dir: String, rowGroupRows: Int) throws {
            var encoder = JSONRowEncoder(columns: PaymentRow.schema.columns.map(\.name))
            for row in rows {
                encoder.beginRow()
                row.encode(to: &encoder)
                encoder.endRow()
            }
            try Data(encoder.buffer).write(to: URL(fileURLWithPath: "\(dir)/rows.jsonl"))
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../parquet_bench.py").standardized.path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "\(dir)/rows.jsonl", dir, "--row-group-rows", "\(rowGroupRows)"]
            process.standardInput = requests
            process.standardOutput = replies
            try process.run()
            let hello = try reply()
            guard let version = hello["pyarrow"] as? String, hello["rows"] as? Int == rows.count else {
                throw BenchError("parquet_bench.py: \(hello)")
            }
            self.version = version
        }

        deinit {
            try? requests.fileHandleForWriting.close()
            process.waitUntilExit()
        }

        /// Sends one request (a JSON object) and returns the reply.
        func request(_ object: [String: Any]) throws -> [String: Any] {
            var line = try JSONSerialization.data(withJSONObject: object)
            line.append(UInt8(ascii: "\n"))
            try requests.fileHandleForWriting.write(contentsOf: line)
            return try reply()
        }

        private func reply() throws -> [String: Any] {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[..<newline])
                    pending.removeSubrange(...newline)
                    guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                        throw BenchError("parquet_bench.py: \(String(decoding: line, as: UTF8.self))")
                    }
                    return object
                }
                let more = replies.fileHandleForReading.availableData
                guard !more.isEmpty else { throw BenchError("parquet_bench.py exited") }
                pending.append(contentsOf: more)
            }
        }

        /// One timed write: `"defaults"` or `"same"` (our encodings: dictionaries on `dictionary` only).
        func write(_ variant: String, compression: ParquetCompression, dictionary: [String]) throws
            -> (timing: Timing, codecs: [String], dictionary: [String])
        {
            let reply = try request([
                "write": variant, "compression": compression == .lz4Raw ? "lz4" : "none", "dictionary": dictionary,
            ])
            guard let wall = reply["wall"] as? Double, let cpu = reply["cpu"] as? Double,
                  let bytes = reply["bytes"] as? Int, let codecs = reply["codecs"] as? [String],
                  let columns = reply["dictionary_columns"] as? [String]
            else { throw BenchError("parquet_bench.py: \(reply)") }
            return (Timing(wall: wall, cpu: cpu, bytes: bytes), codecs, columns)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Writes the rows `repeats` times with each compression, ours alternating with pyarrow's two settings (the
    /// order flipped every round), and prints, per compression and setting, the medians: our rate, pyarrow's,
    /// and the ratios of their times to ours (wall clock and CPU), each taken within a round.
    static func run(_ events: ArraySlice<(value: Payment, timestamp: Int64)>, repeats: Int, cores: String) throws {
        let rows = rows(events)
        let count = rows.count
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-bench-parquet-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rowGroupRows = ParquetWriterOptions().rowGroupRows
        let pyarrow = try Pyarrow(rows, in: dir, rowGroupRows: rowGroupRows)
        let valueBytes = Double(rows.reduce(0) { $0 + $1.valueBytes })
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

        for compression in [ParquetCompression.lz4Raw, .none] {
            var options = ParquetWriterOptions()
            options.compression = compression
            let codec = compression == .lz4Raw ? "LZ4_RAW" : "UNCOMPRESSED"
            let ours = "\(dir)/kvstream-\(codec).parquet"
            // Once untimed, to check the file and learn its encodings.
            _ = try write(rows, to: ours, options: options)
            let check = try pyarrow.request(["check": ours])
            guard let mismatched = check["mismatched_columns"] as? [String],
                  let codecs = check["codecs"] as? [String], let dictionary = check["dictionary_columns"] as? [String]
            else { throw BenchError("parquet_bench.py: \(check)") }
            guard mismatched.isEmpty else { throw BenchError("parquet: pyarrow reads other values in \(mismatched)") }
            guard codecs == [codec] else { throw BenchError("parquet: our file's codecs are \(codecs)") }

            var timings: [String: [Timing]] = ["ours": [], "same": [], "defaults": []]
            var sizes: [String: Int] = [:]
            for round in 0..<repeats {
                let order = round % 2 == 0 ? ["ours", "same", "defaults"] : ["defaults", "same", "ours"]
                for side in order {
                    if side == "ours" {
                        timings[side]!.append(try timedWrite(rows, to: ours, options: options))
                        continue
                    }
                    let theirs = try pyarrow.write(side, compression: compression, dictionary: dictionary)
                    guard theirs.codecs == [codec] else { throw BenchError("parquet: pyarrow's codecs \(theirs.codecs)") }
                    if side == "same" && theirs.dictionary != dictionary {
                        throw BenchError("parquet: pyarrow's dictionaries \(theirs.dictionary), ours \(dictionary)")
                    }
                    timings[side]!.append(theirs.timing)
                    sizes[side] = theirs.timing.bytes
                }
            }
            let ourWall = median(timings["ours"]!.map(\.wall))
            for (side, label) in [("same", "with our encodings"), ("defaults", "defaults")] {
                let theirs = timings[side]!
                let wallRatio = median(zip(theirs, timings["ours"]!).map { $0.wall / $1.wall })
                let cpuRatio = median(zip(theirs, timings["ours"]!).map { $0.cpu / $1.cpu })
                print(String(
                    format: "parquet write, %@, %d payment rows%@: %d rows/s, %.0f MB/s of values, %@ "
                        + "(%.2fx pyarrow %@ %@, %d rows/s, %@; CPU time %.2fx; medians of %d alternating runs)",
                    codec, count, cores, Int(Double(count) / ourWall), valueBytes / ourWall / 1e6,
                    mib(timings["ours"]![0].bytes), wallRatio, pyarrow.version, label,
                    Int(Double(count) / median(theirs.map(\.wall))), mib(sizes[side]!), cpuRatio, repeats))
            }
            fflush(nil)
        }
    }
}
