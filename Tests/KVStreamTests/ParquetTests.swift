import Foundation
import KVStreamPayments
import Testing

@testable import KVStream
@testable import KVStreamJobs
@testable import KVStreamLake

/// The Parquet writer: its encodings byte for byte, and files read back by pyarrow and DuckDB
/// (`Tests/e2e/parquet_check.py`, which needs `python3` with `pyarrow` and `duckdb`: `make py-deps`).
@Suite struct ParquetTests {
    @Test func thriftCompactProtocol() {
        var w = ThriftCompactWriter()
        w.beginStructElement()
        w.field(1, Int32(-3))  // delta 1, i32, zigzag 5
        w.field(3, Int64(300))  // delta 2, i64, zigzag 600 in two bytes
        w.field(4, "ab")  // delta 1, binary
        w.field(20, true)  // delta 16: long form, BOOLEAN_TRUE, zigzag id 40
        w.beginList(21, of: .i32, count: 2)
        w.element(Int32(0))
        w.element(Int32(8))
        w.beginStruct(22)
        w.emptyStruct(1)
        w.endStruct()
        w.endStruct()
        #expect(w.bytes == [
            0x15, 0x05, 0x26, 0xD8, 0x04, 0x18, 0x02, 0x61, 0x62, 0x01, 0x28, 0x19, 0x25, 0x00, 0x10, 0x1C, 0x1C,
            0x00, 0x00, 0x00,
        ])
    }

    @Test func hybridEncoding() {
        func encode(_ values: [UInt32], bitWidth: Int) -> [UInt8] {
            var out: [UInt8] = []
            values.withUnsafeBufferPointer { RLEHybridEncoder.encode($0, bitWidth: bitWidth, to: &out) }
            return out
        }
        // A run of 10: header 10 << 1, the value in one byte.
        #expect(encode(Array(repeating: 1, count: 10), bitWidth: 1) == [0x14, 0x01])
        // 0...7 at 3 bits: one bit-packed group (header 1 << 1 | 1), LSB first (the format's own example).
        #expect(encode(Array(0...7), bitWidth: 3) == [0x03, 0x88, 0xC6, 0xFA])
        // Three values, padded to a group of 8; then a run of 8 zeros after a group of 8.
        #expect(encode([1, 0, 1], bitWidth: 1) == [0x03, 0x05])
        let alternatingThenZeros: [UInt32] = [1, 0, 1, 0, 1, 0, 1, 0] + Array(repeating: 0, count: 8)
        #expect(encode(alternatingThenZeros, bitWidth: 1) == [0x03, 0x55, 0x10, 0x00])
        // Wide values: 300 at 9 bits is two bytes in an RLE run.
        #expect(encode(Array(repeating: 300, count: 8), bitWidth: 9) == [0x10, 0x2C, 0x01])
        #expect(RLEHybridEncoder.bitWidth(maxValue: 0) == 1)
        #expect(RLEHybridEncoder.bitWidth(maxValue: 2) == 2)
        #expect(RLEHybridEncoder.bitWidth(maxValue: 255) == 8)
        #expect(RLEHybridEncoder.bitWidth(maxValue: 256) == 9)
    }

    @Test func fileIsFramedByMagicAndFooterLength() throws {
        var writer = ParquetWriter(schema: TableSchema(columns: [Column("x", .int64)]), output: ParquetBuffer())
        for i in 0..<3 {
            writer.int64(Int64(i))
            try writer.endRow()
        }
        let bytes = try writer.finish().bytes
        #expect(Array(bytes.prefix(4)) == Array("PAR1".utf8))
        #expect(Array(bytes.suffix(4)) == Array("PAR1".utf8))
        let footer = bytes[(bytes.count - 8)...].withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
        #expect(footer > 0 && footer < bytes.count - 12)
    }

    /// Every column type, nullable and not, over several row groups and pages, with and without compression.
    @Test func typedColumnsReadBackInPyarrowAndDuckDB() throws {
        let schema = TableSchema(columns: [
            Column("id", .int64), Column("name", .string), Column("note", .string, nullable: true),
            Column("score", .double, nullable: true), Column("ok", .bool), Column("at", .timestamp),
            Column("day", .date, nullable: true), Column("amount", .decimal(precision: 18, scale: 2)),
            Column("total", .decimal(precision: 20, scale: 2), nullable: true), Column("tags", .stringArray),
            Column("labels", .stringArray, nullable: true), Column("details", .json),
        ])
        let names = ["alpha", "beta", "gamma", "δέλτα", "\u{1F600}"]
        let rows: [[Cell]] = (0..<5_000).map { i in
            let n = Int64(i)
            return [
                .int64(n * 1_000_003 - 2_500_000_000), .string(names[i % names.count]),
                i % 3 == 0 ? .null : .string("note \(i)"), i % 7 == 0 ? .null : .double(Double(i) / 8 - 100),
                .bool(i % 2 == 0), .timestamp(1_767_225_600_000 + n * 997),
                i % 5 == 0 ? .null : .date(Int32(20_454 + i)),
                .decimal(Int128(n * 12_345 - 30_000_000)),
                i % 4 == 0 ? .null : .decimal((Int128(n) - 2_500) * 30_000_000_000_000_007),
                .list((0..<(i % 4)).map { "t\($0)" }), i % 6 == 0 ? .null : .list(i % 6 == 1 ? [] : ["x", "y\(i % 9)"]),
                .json(#"{"i":\#(i)}"#),
            ]
        }
        var check = ParquetCheck()
        for compression in [ParquetCompression.lz4Raw, .none] {
            var options = ParquetWriterOptions()
            options.compression = compression
            options.rowGroupRows = 2_000
            options.pageBytes = 4_096
            try check.add(schema: schema, rows: rows, options: options, rowGroups: 3, encodings: [
                // Distinct notes: the dictionary does not pay on the first page.
                "id": ["PLAIN"], "name": ["PLAIN", "RLE_DICTIONARY"], "note": ["PLAIN", "RLE"],
                "ok": ["PLAIN"], "tags": ["PLAIN", "RLE", "RLE_DICTIONARY"],
            ])
        }
        try check.add(schema: schema, rows: [], options: ParquetWriterOptions(), rowGroups: 0)
        try check.run()
    }

    /// A row group ends when its finished pages hold `rowGroupBytes` of values: 8-byte values in pages of 1,000
    /// bytes (125 rows) and groups of 10,000 bytes make groups of 1,250 rows.
    @Test func rowGroupsEndAtTheirByteSize() throws {
        var options = ParquetWriterOptions()
        options.pageBytes = 1_000
        options.rowGroupBytes = 10_000
        var check = ParquetCheck()
        try check.add(
            schema: TableSchema(columns: [Column("x", .int64)]), rows: (0..<5_000).map { [.int64(Int64($0))] },
            options: options, rowGroups: 4)
        try check.run()
    }

    /// A chunk's strings are dictionary-encoded while the dictionary pays on the first page and stays under its
    /// limit: the page that outgrows it and the rest of the chunk are PLAIN; the next chunk starts over.
    @Test func dictionaryFallsBackToPlain() throws {
        var column = ColumnWriter(
            leaf: ParquetLeaf(Column("s", .string)), pageBytes: 60, dictionaryPageBytes: 100)
        var scratch: [UInt8] = []
        var pages = PageWriter(compression: .lz4Raw)
        var output = ParquetBuffer()
        func append(_ value: String) {
            if column.append(string: value, as: .string) { column.finishPage(scratch: &scratch, pages: &pages) }
        }
        for i in 0..<10 { append("k\(i % 2)") }  // one page of 10 values of 6 bytes: 2 entries pay
        #expect(column.hasDictionaryPages && column.isDictionaryEncoded)
        for i in 0..<20 { append("value \(i)") }  // 11 bytes each: the dictionary passes 100 bytes
        #expect(!column.isDictionaryEncoded)
        let chunk = try column.finishChunk(at: 4, to: &output, scratch: &scratch, pages: &pages)
        #expect(chunk.dictionaryPageOffset == 4 && chunk.dataPageOffset > 4)
        #expect(chunk.encodings == [.plain, .rleDictionary])
        #expect(column.isDictionaryEncoded)

        // Distinct values on the first page: the dictionary does not pay and is not written.
        for i in 0..<10 { append("unique \(i)") }
        #expect(!column.isDictionaryEncoded && !column.hasDictionaryPages)
        let plainChunk = try column.finishChunk(at: 4, to: &output, scratch: &scratch, pages: &pages)
        #expect(plainChunk.dictionaryPageOffset == nil && plainChunk.encodings == [.plain])

        let schema = TableSchema(columns: [Column("unique", .string), Column("few", .string, nullable: true)])
        let rows: [[Cell]] = (0..<3_000).map { i in
            [.string("event-\(i)-\(String(repeating: "x", count: i % 50))"), i % 10 == 0 ? .null : .string("k\(i % 3)")]
        }
        var options = ParquetWriterOptions()
        options.dictionaryPageBytes = 2_048
        options.rowGroupRows = 1_000
        options.pageBytes = 1_000
        var check = ParquetCheck()
        try check.add(schema: schema, rows: rows, options: options, rowGroups: 3, encodings: [
            "unique": ["PLAIN"], "few": ["PLAIN", "RLE", "RLE_DICTIONARY"],
        ])
        options.dictionaryPageBytes = nil
        try check.add(schema: schema, rows: rows, options: options, rowGroups: 3, encodings: [
            "unique": ["PLAIN"], "few": ["PLAIN", "RLE"],
        ])
        try check.run()
    }

    /// The jobs' row types, written through ``ParquetWriter/write(_:)``.
    @Test func jobRowsReadBack() throws {
        let generator = PaymentGenerator(config: PaymentGeneratorConfig(seed: 3, customers: 50, merchants: 10))
        let payments = (0..<500).map { generator.payment(at: UInt64($0)) }
        var check = ParquetCheck()
        try check.add(payments.map { p in
            LateEventRow(LateRecord(value: p, timestamp: p.ts, watermark: p.ts + 9, operatorName: "window"))
        })
        let scored = payments.map { p in
            var features = FraudFeatures()
            features.rules = p.amountCents % 2 == 0 ? [.velocity, .newCountry] : []
            features.amountZ = Double(p.amountCents % 7) - 3.5
            return ScoredPayment(payment: PendingPayment(p), customerId: p.customerId, features: features,
                                 score: Double(p.amountCents % 100) / 100, detectedAt: p.ts + 5)
        }
        try check.add(scored.map { FraudAlertRow($0) })
        try check.add(scored)
        try check.add(payments.map { p in
            RejectedRow(RejectedRecord(
                raw: p.jsonLine, reason: "test", source: "payments", position: "f:1", receivedAt: p.ts))
        })
        try check.run()
    }

    /// Random schemas and values, edge values first among them, read back unchanged. Deterministic (seeded).
    @Test func randomFilesReadBackUnchanged() throws {
        var check = ParquetCheck()
        for seed in 1...60 {
            var random = SplitMix64(seed: UInt64(seed))
            var fuzz = ParquetFuzz(random: random)
            let schema = fuzz.schema()
            let rows = (0..<Int(random.next() % 600)).map { _ in fuzz.row(schema) }
            random = fuzz.random
            var options = ParquetWriterOptions()
            options.compression = random.next() % 2 == 0 ? .lz4Raw : .none
            options.rowGroupRows = [1, 7, 100, 1 << 20][Int(random.next() % 4)]
            options.pageBytes = [64, 1_000, 1 << 20][Int(random.next() % 3)]
            options.dictionaryPageBytes = [nil, 100, 1 << 20][Int(random.next() % 3)]
            try check.add(schema: schema, rows: rows, options: options, toFileDescriptor: seed % 2 == 0)
        }
        try check.run()
    }
}

/// One value written through the ``RowEncoder`` calls.
enum Cell {
    case string(String), json(String), int64(Int64), double(Double), bool(Bool), timestamp(Int64), date(Int32)
    case decimal(Int128), list([String]), null

    func encode<E: RowEncoder>(scale: Int, to encoder: inout E) {
        switch self {
        case .string(let v): encoder.string(v)
        case .json(let v): encoder.json(v)
        case .int64(let v): encoder.int64(v)
        case .double(let v): encoder.double(v)
        case .bool(let v): encoder.bool(v)
        case .timestamp(let v): encoder.timestamp(v)
        case .date(let v): encoder.date(v)
        case .decimal(let v): encoder.decimal(v, scale: scale)
        case .list(let v): encoder.stringArray(v)
        case .null: encoder.null()
        }
    }

    /// The form `parquet_check.py` expects.
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .string(let v), .json(let v): JSONText.appendString(v, to: &out)
        case .int64(let v), .timestamp(let v): JSONText.appendInteger(v, to: &out)
        case .date(let v): JSONText.appendInteger(Int64(v), to: &out)
        case .double(let v): JSONText.appendString(String(v.bitPattern), to: &out)
        case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
        case .decimal(let v): JSONText.appendString(String(v), to: &out)
        case .list(let v):
            out.append(UInt8(ascii: "["))
            for (i, s) in v.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendString(s, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .null: out.append(contentsOf: "null".utf8)
        }
    }
}

/// Captures what a ``SinkRow`` writes, as cells.
struct CellRecorder: RowEncoder {
    var cells: [Cell] = []
    mutating func string(_ value: String) { cells.append(.string(value)) }
    mutating func int64(_ value: Int64) { cells.append(.int64(value)) }
    mutating func double(_ value: Double) { cells.append(.double(value)) }
    mutating func bool(_ value: Bool) { cells.append(.bool(value)) }
    mutating func timestamp(_ epochMillis: Int64) { cells.append(.timestamp(epochMillis)) }
    mutating func date(_ epochDays: Int32) { cells.append(.date(epochDays)) }
    mutating func decimal(_ units: Int128, scale: Int) { cells.append(.decimal(units)) }
    mutating func stringArray(_ values: [String]) { cells.append(.list(values)) }
    mutating func json(_ document: String) { cells.append(.json(document)) }
    mutating func null() { cells.append(.null) }
}

/// Files written to a temporary directory with a manifest of what they should hold, checked in one run of
/// `parquet_check.py`.
struct ParquetCheck {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-parquet-\(UUID())").path
    private var manifest: [UInt8] = Array("[".utf8)
    private var files = 0

    init() {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    mutating func add<Row: SinkRow>(_ rows: [Row]) throws {
        let cells = rows.map { row in
            var recorder = CellRecorder()
            row.encode(to: &recorder)
            return recorder.cells
        }
        var writer = ParquetWriter(schema: Row.schema, output: ParquetBuffer())
        for row in rows { try writer.write(row) }
        try record(schema: Row.schema, rows: cells, bytes: writer.finish().bytes, options: ParquetWriterOptions())
    }

    mutating func add(
        schema: TableSchema, rows: [[Cell]], options: ParquetWriterOptions, rowGroups: Int? = nil,
        encodings: [String: [String]] = [:], toFileDescriptor: Bool = false
    ) throws {
        let scales = schema.columns.map { column in
            if case .decimal(_, let scale) = column.type { scale } else { 0 }
        }
        func write<Output: ParquetOutput>(to output: Output) throws -> Output {
            var writer = ParquetWriter(schema: schema, options: options, output: output)
            for row in rows {
                for (cell, scale) in zip(row, scales) { cell.encode(scale: scale, to: &writer) }
                try writer.endRow()
            }
            #expect(writer.rowCount == rows.count)
            return try writer.finish()
        }
        if toFileDescriptor {
            let path = "\(directory)/\(files).parquet"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            defer { close(fd) }
            _ = try write(to: ParquetFileDescriptorOutput(fileDescriptor: fd))
            try record(
                schema: schema, rows: rows, bytes: nil, options: options, rowGroups: rowGroups, encodings: encodings)
        } else {
            try record(schema: schema, rows: rows, bytes: write(to: ParquetBuffer()).bytes, options: options,
                       rowGroups: rowGroups, encodings: encodings)
        }
    }

    /// A file written by other means (a merge) that should hold `rows`.
    mutating func add(schema: TableSchema, rows: [[Cell]], bytes: [UInt8], compression: ParquetCompression, rowGroups: Int)
        throws
    {
        var options = ParquetWriterOptions()
        options.compression = compression
        try record(schema: schema, rows: rows, bytes: bytes, options: options, rowGroups: rowGroups)
    }

    private mutating func record(
        schema: TableSchema, rows: [[Cell]], bytes: [UInt8]?, options: ParquetWriterOptions, rowGroups: Int? = nil,
        encodings: [String: [String]] = [:]
    ) throws {
        let file = "\(files).parquet"
        files += 1
        if let bytes { try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(file)")) }
        if manifest.count > 1 { manifest.append(UInt8(ascii: ",")) }
        manifest.append(contentsOf: #"{"file":"\#(file)","compression":""#.utf8)
        manifest.append(contentsOf: (options.compression == .lz4Raw ? "LZ4_RAW" : "UNCOMPRESSED").utf8)
        manifest.append(contentsOf: #"","columns":["#.utf8)
        for (i, column) in schema.columns.enumerated() {
            var (type, precision, scale) = ("", 0, 0)
            switch column.type {
            case .string: type = "string"
            case .json: type = "json"
            case .int64: type = "int64"
            case .double: type = "double"
            case .bool: type = "bool"
            case .timestamp: type = "timestamp"
            case .date: type = "date"
            case .stringArray: type = "stringArray"
            case .decimal(let p, let s): (type, precision, scale) = ("decimal", p, s)
            }
            if i > 0 { manifest.append(UInt8(ascii: ",")) }
            manifest.append(contentsOf: #"{"name":"#.utf8)
            JSONText.appendString(column.name, to: &manifest)
            manifest.append(contentsOf: #","type":"\#(type)","nullable":\#(column.nullable),"#.utf8)
            manifest.append(contentsOf: #""precision":\#(precision),"scale":\#(scale)}"#.utf8)
        }
        manifest.append(contentsOf: #"],"rows":["#.utf8)
        for (i, row) in rows.enumerated() {
            manifest.append(contentsOf: (i > 0 ? ",[" : "[").utf8)
            for (k, cell) in row.enumerated() {
                if k > 0 { manifest.append(UInt8(ascii: ",")) }
                cell.appendJSON(to: &manifest)
            }
            manifest.append(UInt8(ascii: "]"))
        }
        manifest.append(UInt8(ascii: "]"))
        if let rowGroups { manifest.append(contentsOf: #","row_groups":\#(rowGroups)"#.utf8) }
        manifest.append(contentsOf: #","encodings":{"#.utf8)
        for (i, (column, list)) in encodings.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { manifest.append(UInt8(ascii: ",")) }
            JSONText.appendString(column, to: &manifest)
            manifest.append(contentsOf: ":[".utf8)
            manifest.append(contentsOf: list.map { "\"\($0)\"" }.joined(separator: ",").utf8)
            manifest.append(UInt8(ascii: "]"))
        }
        manifest.append(contentsOf: "}}".utf8)
    }

    /// Runs the checker over every file added; the files are deleted when it passes.
    func run() throws {
        let manifestPath = "\(directory)/manifest.json"
        try Data(manifest + Array("]".utf8)).write(to: URL(fileURLWithPath: manifestPath))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../e2e/parquet_check.py").standardized.path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, manifestPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "parquet_check.py (files in \(directory)):\n\(output)")
        if process.terminationStatus == 0 { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Random schemas and values for the fuzz test, with the edges of every type drawn often.
struct ParquetFuzz {
    var random: SplitMix64

    private mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }

    mutating func schema() -> TableSchema {
        let types: [ColumnType] = [.string, .json, .int64, .double, .bool, .timestamp, .date, .stringArray]
        let columns = (0..<1 + below(8)).map { i in
            var type = below(types.count + 2) < types.count ? types[below(types.count)] : .string
            if below(5) == 0 {
                let precision = 1 + below(38)
                type = .decimal(precision: precision, scale: below(precision + 1))
            }
            return Column(i == 0 ? "c0 \u{E9}\u{1F600}" : "c\(i)", type, nullable: below(2) == 0)
        }
        return TableSchema(columns: columns)
    }

    mutating func row(_ schema: TableSchema) -> [Cell] {
        schema.columns.map { column in
            if column.nullable && below(4) == 0 { return .null }
            return value(column.type)
        }
    }

    mutating func value(_ type: ColumnType) -> Cell {
        let edge = below(3) == 0
        switch type {
        case .string: return .string(string())
        case .json: return .json(#"{"k":\#(below(1000)),"s":"\#(below(3) == 0 ? "caf\u{E9}" : "x")"}"#)
        case .int64:
            return .int64(edge ? [Int64.min, .max, 0, -1, 1][below(5)] : Int64(bitPattern: random.next()))
        case .double:
            let edges = [0.0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                         -.greatestFiniteMagnitude, 1e-300, -1.5]
            return .double(edge ? edges[below(edges.count)] : Double(bitPattern: random.next()))
        case .bool: return .bool(below(2) == 0)
        case .timestamp:
            // 0001-01-01T00:00:00.000Z ... 9999-12-31T23:59:59.999Z, the range every reader converts.
            let (first, last): (Int64, Int64) = (-62_135_596_800_000, 253_402_300_799_999)
            return .timestamp(edge ? [first, last, 0, -1, 1][below(5)]
                : first + Int64(random.next() % UInt64(last - first + 1)))
        case .date:
            let (first, last): (Int32, Int32) = (-719_162, 2_932_896)
            return .date(edge ? [first, last, 0, -1][below(4)] : first + Int32(below(Int(last - first) + 1)))
        case .decimal(let precision, _):
            var bound: Int128 = 1
            for _ in 0..<precision { bound *= 10 }
            let max = bound - 1
            if edge { return .decimal([max, -max, 0, 1, -1][below(5)]) }
            let units = Int128((UInt128(random.next()) << 64 | UInt128(random.next())) % UInt128(max))
            return .decimal(below(2) == 0 ? units : -units)
        case .stringArray: return .list((0..<below(4)).map { _ in string(maxLength: 40) })
        }
    }

    mutating func string(maxLength: Int = 6_000) -> String {
        switch below(8) {
        case 0: return ""
        case 1: return ["a", "b", "ab", "b\u{0}a", "\u{7F}"][below(5)]  // few distinct: dictionary-friendly
        case 2: return "\u{E9}\u{4E2D}\u{1F600}\u{10FFFF}e\u{301}\t\n\"\\"
        case 3: return String(repeating: "z\u{E9}", count: below(maxLength / 2))
        default:
            let alphabet = Array("abcXYZ019 _-\u{E9}\u{3B1}\u{1F600}")
            return String((0..<below(20)).map { _ in alphabet[below(alphabet.count)] })
        }
    }
}
