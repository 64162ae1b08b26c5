import Foundation
import KVStreamPayments
import Testing

@testable import KVStream
@testable import KVStreamLake

/// Lake compaction: merged Parquet files read back by pyarrow and DuckDB (`parquet_check.py`), the choice of files,
/// and the commit and recovery steps from every state a crash can leave.
@Suite struct LakeCompactionTests {
    /// Writes `rows` as one file in row groups of `rowGroupRows`.
    func file(_ schema: TableSchema, _ rows: [[Cell]], options: ParquetWriterOptions) throws -> [UInt8] {
        let scales = schema.columns.map { column in
            if case .decimal(_, let scale) = column.type { scale } else { 0 }
        }
        var writer = ParquetWriter(schema: schema, options: options, output: ParquetBuffer())
        for row in rows {
            for (cell, scale) in zip(row, scales) { cell.encode(scale: scale, to: &writer) }
            try writer.endRow()
        }
        return try writer.finish().bytes
    }

    /// Random schemas: two to five files each, merged; the merge holds every row in order, one row group per row group
    /// of its inputs, with valid statistics, encodings and compression. Then a merge of a merge, and a split back.
    /// Jobs sharing a table (`rejected`, `late_events`) own their files by the job's name in them: a recovery of
    /// one job never takes the other's, in a scope or not.
    @Test func recoveryTouchesOnlyItsOwnJobsFiles() {
        let fraud = LakeOwner(job: "fraud_detection", scope: nil)
        #expect(fraud.owns("fraud_detection.0"))
        #expect(!fraud.owns("realtime_aggregations.0"))
        #expect(!fraud.owns("fraud_detection.p3.0"))
        let scoped = LakeOwner(job: "fraud_detection", scope: "p3")
        #expect(scoped.owns("fraud_detection.p3.0"))
        #expect(!scoped.owns("fraud_detection.p31.0") && !scoped.owns("fraud_detection.0"))
        #expect(!scoped.owns("realtime_aggregations.p3.0"))
        #expect(parseLakeFile("part-fraud_detection.p3.0-12-0.parquet")?.instance == "fraud_detection.p3.0")
    }

    @Test func mergedFilesReadBackInPyarrowAndDuckDB() throws {
        var check = ParquetCheck()
        for seed in 1...40 {
            var fuzz = ParquetFuzz(random: SplitMix64(seed: UInt64(1_000 + seed)))
            let schema = fuzz.schema()
            var options = ParquetWriterOptions()
            options.compression = fuzz.random.next() % 2 == 0 ? .lz4Raw : .none
            var inputs: [(name: String, bytes: [UInt8])] = []
            var rows: [[Cell]] = []
            var groups = 0
            for i in 0..<Int(2 + fuzz.random.next() % 4) {
                options.rowGroupRows = [1, 7, 100, 1 << 20][Int(fuzz.random.next() % 4)]
                options.pageBytes = [64, 1_000, 1 << 20][Int(fuzz.random.next() % 3)]
                let part = (0..<Int(1 + fuzz.random.next() % 200)).map { _ in fuzz.row(schema) }
                let bytes = try file(schema, part, options: options)
                groups += try ParquetFooter(bytes).rowGroups.count
                inputs.append(("part-0-\(i + 1)-0.parquet", bytes))
                rows += part
            }
            let merged = try LakeCompaction.merge(inputs)
            try check.add(schema: schema, rows: rows, bytes: merged, compression: options.compression, rowGroups: groups)
            // A merge of the merge and one more file lists the original files, flattened.
            let extra = (0..<3).map { _ in fuzz.row(schema) }
            let twice = try LakeCompaction.merge([("part-0-9-1.parquet", merged),
                                                  ("part-0-9-0.parquet", try file(schema, extra, options: options))])
            let from = try ParquetFooter(twice).keyValues.first { $0.key == LakeCompaction.compactedFromKey }?.value
            #expect(from?.split(separator: "\n").count == inputs.count + 1)
            // Rolled back to checkpoint 2: the files of checkpoints 1 and 2 come back, whole.
            let back = try #require(try LakeCompaction.unmerge(twice, restoredCheckpoint: 2))
            #expect(back.map(\.name) == ["part-0-1-0.parquet", "part-0-2-0.parquet"])
            for (original, input) in zip(back, inputs) {
                #expect(try ParquetFooter(original.bytes).rowCount == ParquetFooter(input.bytes).rowCount)
            }
            let firstRows = Int(try ParquetFooter(inputs[0].bytes).rowCount)
            try check.add(schema: schema, rows: Array(rows.prefix(firstRows)), bytes: back[0].bytes,
                          compression: options.compression, rowGroups: try ParquetFooter(inputs[0].bytes).rowGroups.count)
        }
        try check.run()
    }

    @Test func mergeRefusesOtherSchemasAndBrokenFiles() throws {
        let a = try file(TableSchema(columns: [Column("x", .int64)]), [[.int64(1)]], options: .init())
        let b = try file(TableSchema(columns: [Column("x", .string)]), [[.string("1")]], options: .init())
        #expect(throws: ParquetFileMerger.Failure.self) { try LakeCompaction.merge([("a", a), ("b", b)]) }
        #expect(throws: ParquetFileMerger.Failure.self) { try LakeCompaction.merge([("a", Array(a.dropLast(1)))]) }
        // A footer length past the file's start, and a footer cut short.
        var corrupt = a
        corrupt[corrupt.count - 7] = 0x7F
        #expect(throws: (any Error).self) { try LakeCompaction.merge([("a", corrupt), ("b", a)]) }
        corrupt = a
        corrupt[corrupt.count - 8] -= 3
        #expect(throws: (any Error).self) { try LakeCompaction.merge([("a", corrupt), ("b", a)]) }
    }

    @Test func plansMergeFilesOfOneSizeTierOrAllOfAQuietPartition() {
        let compaction = LakeCompaction(minFiles: 3, targetBytes: 1_000_000)
        func files(_ sizes: [Int]) -> [LakeFile] {
            sizes.enumerated().map { LakeFile(partition: "dt=2026-01-01", name: "part-0-\($0 + 1)-0.parquet", bytes: $1,
                                               checkpoint: Int64($0 + 1)) }
        }
        // 3 files of 10..26 bytes (tier 2 of base 3: 9..26) merge; the bigger ones wait for their peers.
        #expect(compaction.plan(files([10, 200, 20, 25, 600_000]), quiet: false)?.map(\.bytes) == [10, 20, 25])
        #expect(compaction.plan(files([10, 200, 2_000]), quiet: false) == nil)
        // Quiet: every small file, oldest first, up to the target; big files (>= half the target) never.
        #expect(compaction.plan(files([10, 200, 2_000, 600_000]), quiet: true)?.map(\.bytes) == [10, 200, 2_000])
        #expect(compaction.plan(files([400_000, 400_000, 400_000]), quiet: true)?.count == 2)
        #expect(compaction.plan(files([10]), quiet: true) == nil)
        #expect(LakeCompaction.inputToRestore(".part-p5.0-3-1.parquet.retired-7", restoredCheckpoint: 6)
            == "part-p5.0-3-1.parquet")
        #expect(LakeCompaction.inputToRestore(".part-0-3-1.parquet.retired-7", restoredCheckpoint: 7) == nil)
        #expect(LakeCompaction.inputToRestore(".part-0-3-1.parquet.retired-7", restoredCheckpoint: 2) == nil)
        #expect(LakeCompaction.retiredName("/l/t/dt=x/part-0-3-1.parquet", checkpoint: 7) == "/l/t/dt=x/.part-0-3-1.parquet.retired-7")
    }

    /// Every state the local commit can be killed in, then the commit replayed (a restart restoring the compaction's
    /// checkpoint), or the recovery of an older checkpoint: the partition always ends with each row once.
    @Test func localCommitAndRecoveryFromEveryCrashState() throws {
        let schema = TableSchema(columns: [Column("x", .int64)])
        let inputs = try (1...3).map { i in
            ("part-0-\(i)-0.parquet", try file(schema, (0..<i * 10).map { [.int64(Int64(i * 100 + $0))] }, options: .init()))
        }
        let merged = try LakeCompaction.merge(inputs)
        // steps done before the crash: 0 nothing, 1...3 inputs retired, 4 published, 5 retired inputs deleted
        for done in 0...5 {
            for restore in [4, 2] as [Int64] {
                let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-compact-\(UUID())").path
                defer { try? FileManager.default.removeItem(atPath: root) }
                let dir = root + "/t/dt=2026-01-01"
                try FileSystem.makeDirectories(dir)
                let store = LocalLakeStore(root: root, configKey: "sinks.lake.path")
                for (i, (name, bytes)) in inputs.enumerated() {
                    let path = dir + "/" + (done > i ? "." + name + ".retired-4" : name)
                    if done < 5 { try LakeCompaction.writeFile(bytes, to: path) }
                }
                try LakeCompaction.writeFile(merged, to: dir + (done >= 4 ? "/part-0-4-0.parquet" : "/.part-0-4-0.parquet.pending"))
                let fields = ["pending": dir + "/.part-0-4-0.parquet.pending", "merged": dir + "/part-0-4-0.parquet",
                              "checkpoint": "4", "inputs": inputs.map { dir + "/" + $0.0 }.joined(separator: "\n")]
                if restore == 4 { try LakeCompaction.commitLocally(fields) }
                try store.recover(table: "t", restoredCheckpoint: restore, owner: LakeOwner(job: nil, scope: nil))
                let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                var rows = 0
                for name in names { rows += Int(try ParquetFooter([UInt8](FileManager.default.contents(atPath: dir + "/" + name)!)).rowCount) }
                if restore == 4 {
                    #expect(names == ["part-0-4-0.parquet"], "crashed after \(done) steps, restored 4")
                    #expect(rows == 60)
                } else {
                    #expect(names == ["part-0-1-0.parquet", "part-0-2-0.parquet"], "crashed after \(done) steps, restored 2")
                    #expect(rows == 30)
                }
                // Replaying the commit again changes nothing.
                if restore == 4 {
                    try LakeCompaction.commitLocally(fields)
                    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["part-0-4-0.parquet"])
                }
            }
        }
    }

    /// A row of one day partition (`day` days after the epoch).
    struct DayRow: SinkRow {
        var day: Int64
        var value: Int64
        static let schema = TableSchema(columns: [Column("value", .int64)])
        func encode<E: RowEncoder>(to encoder: inout E) { encoder.int64(value) }
        var partitionTime: Int64? { day * 86_400_000 }
    }

    /// While partitions get rows, files of a low size tier wait for `compact_min_files` of their kind; the final
    /// commit (end of input, stop) merges every partition's files of earlier checkpoints, so each partition keeps
    /// the merge and the final checkpoint's own file, and no row is lost or doubled.
    @Test func finalCommitMergesEveryPartition() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-final-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let section = try Settings.parse(toml: "path = \"\(root)\"\npseudonymise = []", origin: "test")
        let connector = try LakeSinkConnector(name: "lake", section: section, job: "job")
        let writer = try connector.makeWriter(table: "t", schema: DayRow.schema, instance: "0", metrics: JobMetrics())
        func run(_ actions: [CommitAction]) throws {
            for action in actions {
                switch action {
                case .rename(let from, let to): try FileSystem.renameIdempotent(from: from, to: to)
                case .external(let handler, let fields): try CommitHandlers.run(handler, fields: fields)
                }
            }
        }
        var value: Int64 = 0
        for checkpoint in Int64(1)...6 {
            // Three partitions, rows in each at every checkpoint: none is quiet, and 6 < 10 files per tier.
            try writer.write((0..<3 * Int(checkpoint)).map { i in
                value += 1
                return DayRow(day: 20_000 + Int64(i % 3), value: value)
            })
            try run(try writer.prepareCommit(checkpointID: checkpoint))
        }
        func files(_ day: Int64) throws -> [String] {
            let dir = root + "/t/" + partitionName(epochDay: day)
            return try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        }
        #expect(try (Int64(20_000)...20_002).allSatisfy { try files($0).count == 6 })
        try writer.write([DayRow(day: 20_000, value: value + 1), DayRow(day: 20_002, value: value + 2)])
        value += 2
        try run(try writer.prepareFinalCommit(checkpointID: 7))
        try writer.close()
        var rows: Int64 = 0
        for day in Int64(20_000)...20_002 {
            let names = try files(day)
            var merged = 0
            for name in names {
                let footer = try ParquetFooter([UInt8](FileManager.default.contents(atPath: root + "/t/" + partitionName(epochDay: day) + "/" + name)!))
                rows += footer.rowCount
                if footer.keyValues.contains(where: { $0.key == LakeCompaction.compactedFromKey }) { merged += 1 }
            }
            // The quiet partition keeps its merge; the others also the final checkpoint's file.
            #expect(merged == 1 && names.count == (day == 20_001 ? 1 : 2), "\(day): \(names)")
        }
        #expect(rows == value)
    }
}
