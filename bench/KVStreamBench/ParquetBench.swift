import Foundation
import KVStream
import KVStreamLake
import KVStreamPayments

/// (e) The lake's Parquet writer: payment rows written to an LZ4_RAW file, beside pyarrow writing the same rows
/// with the same compression in the same run (`bench/parquet_bench.py`, which times only `pq.write_table` of a
/// table already in memory, and checks that our file reads back equal to it).
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

    /// pyarrow's best time and file size, with its defaults and with dictionaries on string columns only.
    struct Pyarrow {
        var version: String
        var defaults: (seconds: Double, bytes: Int)
        var stringsOnly: (seconds: Double, bytes: Int)
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

    /// Runs `bench/parquet_bench.py` on the same rows (handed over as JSON lines, loaded before its timed
    /// writes); fails unless our file at `ours` reads back equal to them and both writers' files are LZ4_RAW.
    static func pyarrow(_ rows: [PaymentRow], ours: String, in dir: String, repeats: Int, rowGroupRows: Int) throws
        -> Pyarrow
    {
        var encoder = JSONRowEncoder(columns: PaymentRow.schema.columns.map(\.name))
        for row in rows {
            encoder.beginRow()
            row.encode(to: &encoder)
            encoder.endRow()
        }
        try Data(encoder.buffer).write(to: URL(fileURLWithPath: "\(dir)/rows.jsonl"))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../parquet_bench.py").standardized.path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "\(dir)/rows.jsonl", ours, dir, "--repeats", "\(repeats)",
                             "--row-group-rows", "\(rowGroupRows)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        func measurement(_ value: Any?) -> (seconds: Double, bytes: Int)? {
            guard let value = value as? [String: Any], let seconds = value["seconds"] as? Double,
                  let bytes = value["bytes"] as? Int
            else { return nil }
            return (seconds, bytes)
        }
        guard process.terminationStatus == 0,
              let result = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
              let version = result["pyarrow"] as? String, let mismatched = result["mismatched_columns"] as? [String],
              let codecs = result["codecs"] as? [String: [String]], let defaults = measurement(result["default"]),
              let stringsOnly = measurement(result["strings_dictionary"])
        else { throw BenchError("parquet_bench.py failed: \(String(decoding: output, as: UTF8.self))") }
        guard mismatched.isEmpty else { throw BenchError("parquet: pyarrow reads other values in \(mismatched)") }
        guard codecs.values.allSatisfy({ $0 == ["LZ4_RAW"] }) else { throw BenchError("parquet: codecs \(codecs)") }
        return Pyarrow(version: version, defaults: defaults, stringsOnly: stringsOnly)
    }
}

