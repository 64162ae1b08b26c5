import Foundation
import KVStream
import KVStreamS3

/// Writes tables as Parquet files into a lake (`[sinks.NAME] type = "lake"`, SPEC section 5), exactly once:
/// `<root>/<table>/dt=YYYY-MM-DD/part-<instance>-<checkpoint>-<n>.parquet`.
///
/// Each writer keeps one open file per `dt` partition, named `.part-...inprogress` (hidden from `*.parquet` globs),
/// and rolls it when it reaches `roll_mb`. At a checkpoint barrier it finishes its files and stages them as
/// `.part-<instance>-<checkpoint>-<n>.parquet.pending`; when the checkpoint completes, the commit renames them to
/// their visible names (locally a rename, on S3 a copy and a delete: see ``LakeStore``). Readers that glob
/// `**/*.parquet` see the rows of complete checkpoints only, each once. A restart removes what was staged or
/// written after the checkpoint it restores, for its scope's instances only.
public struct LakeSinkConnector: SinkConnector {
    public let name: String
    let store: LakeStore
    let options: ParquetWriterOptions
    let rollBytes: Int
    let compaction: LakeCompaction
    /// Columns whose values are replaced by `HMAC-SHA256(key, value)` in hex.
    let pseudonymised: Set<String>
    let pseudonymKey: PseudonymKey?
    /// The job's name in file names (see ``init(name:section:job:)``).
    let jobTag: String?

    /// Reads `[sinks.NAME]`: `path` (a directory, or `s3://bucket/prefix` with `endpoint` and `region`),
    /// `compression` (`lz4_raw` or `none`), `roll_mb` (default 64), `pseudonymise` (columns, default
    /// `["customer_id"]`; the key comes from `KVSTREAM_PII_KEY`).
    /// - Parameter job: the job writing, when known: its name (`-` as `_`) leads every file's instance
    ///   (`part-fraud_detection.3-12-0.parquet`), so that jobs sharing a table (`rejected`, `late_events`) never
    ///   take, compact or remove each other's files.
    public init(name: String, section: Settings, job: String? = nil) throws {
        self.name = name
        jobTag = job.map { $0.replacingOccurrences(of: "-", with: "_") }
        let path = try section.string("path") ?? "lake"
        if path.hasPrefix("s3://") {
            store = try S3LakeStore(url: path, section: section, sink: name)
        } else {
            store = LocalLakeStore(root: path, configKey: section.fullKey("path"))
        }
        var options = ParquetWriterOptions()
        switch try section.string("compression") ?? "lz4_raw" {
        case "lz4_raw", "lz4": options.compression = .lz4Raw
        case "none": options.compression = .none
        case let other: throw section.error(at: "compression", "unknown compression \"\(other)\" (lz4_raw or none)")
        }
        let roll = try section.integer("roll_mb") ?? 64
        guard roll >= 1 else { throw section.error(at: "roll_mb", "must be at least 1") }
        rollBytes = Int(roll) << 20
        options.rowGroupBytes = min(options.rowGroupBytes, max(1 << 20, rollBytes / 4))
        self.options = options
        var compaction = LakeCompaction(targetBytes: rollBytes)
        compaction.enabled = try section.bool("compact") ?? true
        if let target = try section.integer("compact_target_mb") {
            guard target >= 1 else { throw section.error(at: "compact_target_mb", "must be at least 1") }
            compaction.targetBytes = Int(target) << 20
        }
        if let files = try section.integer("compact_min_files") {
            guard files >= 2 else { throw section.error(at: "compact_min_files", "must be at least 2") }
            compaction.minFiles = Int(files)
        }
        self.compaction = compaction
        var columns = ["customer_id"]
        if let values = try section.array("pseudonymise") {
            columns = try values.map { value throws(ConfigError) in
                guard case .string(let text) = value else {
                    throw section.error(at: "pseudonymise", "must be a list of column names")
                }
                return text
            }
        }
        pseudonymised = Set(columns)
        if columns.isEmpty {
            pseudonymKey = nil
        } else if let secret = ProcessInfo.processInfo.environment["KVSTREAM_PII_KEY"], !secret.isEmpty {
            pseudonymKey = PseudonymKey(secret: secret)
        } else {
            pseudonymKey = nil
        }
    }

    public var type: String { "lake" }
    public var summary: String {
        "Parquet lake at \(store.description)" + (pseudonymised.isEmpty ? "" : ", pseudonymised: \(pseudonymised.sorted().joined(separator: ", "))")
    }

    public func location(table: String) -> String { store.description + "/" + table }

    public func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        let hidden = schema.columns.indices.filter { pseudonymised.contains(schema.columns[$0].name) }
        var key: PseudonymKey?
        if !hidden.isEmpty {
            guard let pseudonymKey else {
                throw ConfigError(
                    "sinks.\(name): table \(table) has \(hidden.map { schema.columns[$0].name }.joined(separator: ", ")) to "
                        + "pseudonymise: set KVSTREAM_PII_KEY (or sinks.\(name).pseudonymise = [] to write them as they are)")
            }
            key = pseudonymKey
        }
        return try LakeWriter(
            store: store, table: table, schema: schema, instance: jobTag.map { "\($0).\(instance)" } ?? instance,
            options: options, rollBytes: rollBytes,
            compaction: compaction, pseudonymise: Set(hidden), key: key, metrics: metrics)
    }

    public func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        try store.recover(table: table, restoredCheckpoint: restoredCheckpoint, owner: LakeOwner(job: jobTag, scope: scope))
    }
}

/// Whose files a recovery may touch: the job's instances in the run's scope.
struct LakeOwner: Sendable {
    let job: String?
    let scope: String?

    func owns(_ instance: Substring) -> Bool {
        guard let job else { return LakeSinkConnector.instance(instance, isIn: scope) }
        guard instance.hasPrefix(job + ".") else { return false }
        return LakeSinkConnector.instance(instance.dropFirst(job.count + 1), isIn: scope)
    }
}

/// The key of pseudonyms: HMAC-SHA256 with a secret that never leaves the process.
struct PseudonymKey: Sendable {
    let hmac: HMACSHA256Key

    init(secret: String) { hmac = HMACSHA256Key(Array(secret.utf8)) }

    func pseudonym(_ value: String) -> String { hmac.authenticationCode(for: value.utf8).hex }
}

/// The name of a lake file's partition directory: `dt=YYYY-MM-DD`.
func partitionName(epochDay: Int64) -> String {
    var bytes = Array("dt=".utf8)
    CivilTime.appendDate(epochDays: epochDay, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// A committed file's instance and checkpoint, from `part-<instance>-<checkpoint>-<n>.parquet` (or the same
/// behind a `.`, with `.pending` or a start time for in-progress files).
func parseLakeFile(_ name: String) -> (instance: Substring, checkpoint: Int64, visible: Bool)? {
    let visible = name.hasPrefix("part-") && name.hasSuffix(".parquet")
    guard visible || name.hasPrefix(".part-") else { return nil }
    let parts = name.drop { $0 == "." }.dropFirst(5).split(separator: "-", maxSplits: 2)
    guard parts.count >= 2, let checkpoint = Int64(parts[1].prefix { $0.isNumber }) else { return nil }
    return (parts[0], checkpoint, visible)
}

/// One writer instance of one table: open files per `dt`, staged at barriers.
final class LakeWriter: SinkWriter {
    private struct OpenFile {
        var encoder: PseudonymisingEncoder<ParquetWriter<CountingFileOutput>>
        let path: String
        let day: Int64
    }

    private let store: LakeStore
    private let table: String
    private let schema: TableSchema
    private let instance: String
    private let options: ParquetWriterOptions
    private let rollBytes: Int
    private let compaction: LakeCompaction
    private let pseudonymise: Set<Int>
    private let key: PseudonymKey?
    private let metrics: JobMetrics
    /// The local directory where files are written before they are staged.
    private let workDirectory: String
    private var openFiles: [Int64: OpenFile] = [:]
    /// Finished files waiting for the next barrier.
    private var finished: [(day: Int64, path: String, bytes: Int)] = []
    private var fileCounter = 0
    /// This instance's small files, visible or staged, by partition: what compaction merges. Nil until the first
    /// barrier lists the files earlier runs left.
    private var smallFiles: [String: [LakeFile]]?
    /// Partitions that got rows since the last barrier.
    private var activePartitions: Set<String> = []

    init(
        store: LakeStore, table: String, schema: TableSchema, instance: String, options: ParquetWriterOptions,
        rollBytes: Int, compaction: LakeCompaction, pseudonymise: Set<Int>, key: PseudonymKey?, metrics: JobMetrics
    ) throws {
        self.store = store
        self.table = table
        self.schema = schema
        self.instance = instance
        self.options = options
        self.rollBytes = rollBytes
        self.compaction = compaction
        self.pseudonymise = pseudonymise
        self.key = key
        self.metrics = metrics
        workDirectory = try store.workDirectory(table: table)
    }

    func write<R: SinkRow>(_ rows: [R]) throws {
        let today = Clock.nowMillis()
        for row in rows {
            let millis = row.partitionTime ?? today
            let day = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
            if openFiles[day] == nil { openFiles[day] = try openFile(day: day) }
            row.encode(to: &openFiles[day]!.encoder)
            openFiles[day]!.encoder.rowEnded()
            try openFiles[day]!.encoder.inner.endRow()
            if openFiles[day]!.encoder.inner.estimatedFileBytes >= rollBytes { try finish(day: day) }
        }
    }

    private func openFile(day: Int64) throws -> OpenFile {
        fileCounter += 1
        let partition = partitionName(epochDay: day)
        activePartitions.insert(partition)
        let directory = workDirectory + "/" + partition
        try FileSystem.makeDirectories(directory)
        let path = directory + "/.part-\(instance)-\(Clock.nowMillis())-\(fileCounter).inprogress"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConnectorError("cannot create \(path): \(FileSystem.lastError())") }
        let writer = ParquetWriter(schema: schema, options: options, output: CountingFileOutput(fileDescriptor: fd))
        return OpenFile(
            encoder: PseudonymisingEncoder(inner: writer, columns: pseudonymise, key: key), path: path, day: day)
    }

    private func finish(day: Int64) throws {
        guard let file = openFiles.removeValue(forKey: day) else { return }
        let output = try file.encoder.inner.finish()
        defer { Foundation.close(output.fileDescriptor) }
        guard fsync(output.fileDescriptor) == 0 else {
            throw ConnectorError("cannot sync \(file.path): \(FileSystem.lastError())")
        }
        metrics.count("kvstream_lake_bytes_written_total", Int(output.bytesWritten))
        finished.append((day, file.path, Int(output.bytesWritten)))
    }

    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        try prepareCommit(checkpointID: checkpointID, final: false)
    }

    /// At the end of the input every partition is quiet: each one's small files merge (all partitions at once, as
    /// no rows wait behind the pause), so a bounded run or a stopped job leaves at most the merged file and the
    /// final checkpoint's own file per partition.
    func prepareFinalCommit(checkpointID: Int64) throws -> [CommitAction] {
        try prepareCommit(checkpointID: checkpointID, final: true)
    }

    private func prepareCommit(checkpointID: Int64, final: Bool) throws -> [CommitAction] {
        for day in Array(openFiles.keys) { try finish(day: day) }
        var actions: [CommitAction] = []
        var staged: [LakeFile] = []
        for (n, file) in finished.enumerated() {
            let name = "part-\(instance)-\(checkpointID)-\(n).parquet"
            let partition = partitionName(epochDay: file.day)
            actions.append(try store.stage(localFile: file.path, table: table, partition: partition, name: name))
            staged.append(LakeFile(partition: partition, name: name, bytes: file.bytes, checkpoint: checkpointID))
        }
        finished.removeAll()
        metrics.count("kvstream_lake_files_staged_total", actions.count)
        if compaction.enabled {
            if smallFiles == nil {
                smallFiles = Dictionary(grouping: try store.committedFiles(table: table, instance: instance)
                    .filter { $0.bytes < compaction.smallBytes && $0.checkpoint < checkpointID }, by: \.partition)
            }
            // Files staged at this barrier become inputs from the next one on: their commits run first.
            while let (partition, inputs) = nextCompaction(before: checkpointID, final: final) {
                if let action = try compact(partition, inputs, checkpointID: checkpointID, number: actions.count) {
                    actions.append(action)
                }
                guard final else { break }
            }
            for file in staged where file.bytes < compaction.smallBytes { smallFiles![file.partition, default: []].append(file) }
        }
        activePartitions.removeAll()
        return actions
    }

    /// The partition with most small files ready to merge, and those files. A barrier merges one partition, to bound
    /// the pause; the final one merges them all, one after the other, every partition being quiet. Only files of
    /// earlier checkpoints are inputs: they are committed, where those staged at this barrier (merges included) are
    /// not yet.
    private func nextCompaction(before checkpointID: Int64, final: Bool) -> (String, [LakeFile])? {
        let plans = smallFiles!.compactMap { partition, files in
            compaction.plan(files.filter { $0.checkpoint < checkpointID },
                            quiet: final || !activePartitions.contains(partition)).map { (partition, $0) }
        }
        return plans.max { ($0.1.count, $1.0) < ($1.1.count, $0.0) }
    }

    /// Merges `inputs`, small files of `partition`, into `part-<instance>-<checkpointID>-<number>.parquet`; returns
    /// the action that replaces them, or nil when they cannot be read (they are then left alone for the run).
    private func compact(_ partition: String, _ inputs: [LakeFile], checkpointID: Int64, number: Int) throws
        -> CommitAction?
    {
        let merged: [UInt8]
        do {
            merged = try LakeCompaction.merge(
                try inputs.map { ($0.name, try store.read(table: table, partition: partition, name: $0.name)) })
        } catch {
            // Not worth failing the job for: the files stay as they are, and are not tried again in this run.
            metrics.count("kvstream_lake_compaction_failures_total")
            let names = Set(inputs.map(\.name))
            smallFiles![partition]!.removeAll { names.contains($0.name) }
            return nil
        }
        let name = "part-\(instance)-\(checkpointID)-\(number).parquet"
        let directory = workDirectory + "/" + partition
        try FileSystem.makeDirectories(directory)
        let path = directory + "/.part-\(instance)-\(Clock.nowMillis())-compact-\(number).inprogress"
        try LakeCompaction.writeFile(merged, to: path)
        let action = try store.stageCompaction(
            localFile: path, table: table, partition: partition, name: name, inputs: inputs.map(\.name),
            checkpoint: checkpointID)
        let names = Set(inputs.map(\.name))
        smallFiles![partition]!.removeAll { names.contains($0.name) }
        if merged.count < compaction.smallBytes {
            smallFiles![partition]!.append(
                LakeFile(partition: partition, name: name, bytes: merged.count, checkpoint: checkpointID))
        }
        metrics.count("kvstream_lake_compactions_total")
        metrics.count("kvstream_lake_files_compacted_total", inputs.count)
        return action
    }

    /// Removes the files of rows not staged yet (a restart writes them again).
    func close() throws {
        for file in openFiles.values {
            Foundation.close(file.encoder.inner.destination.fileDescriptor)
            unlink(file.path)
        }
        openFiles.removeAll()
        for file in finished { unlink(file.path) }
        finished.removeAll()
    }
}

/// Writes to a file descriptor and counts the bytes.
struct CountingFileOutput: ParquetOutput {
    let fileDescriptor: Int32
    private(set) var bytesWritten: Int64 = 0

    init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        var out = ParquetFileDescriptorOutput(fileDescriptor: fileDescriptor)
        try out.write(bytes)
        bytesWritten += Int64(bytes.count)
    }
}

/// Passes a row's values on, replacing those of the pseudonymised columns by their pseudonyms.
struct PseudonymisingEncoder<Inner: RowEncoder>: RowEncoder {
    var inner: Inner
    private let columns: Set<Int>
    private let key: PseudonymKey?
    private var column = 0

    init(inner: Inner, columns: Set<Int>, key: PseudonymKey?) {
        self.inner = inner
        self.columns = columns
        self.key = key
    }

    private mutating func next() -> Bool {
        defer { column += 1 }
        return !columns.isEmpty && columns.contains(column)
    }

    /// Pseudonyms already computed: an HMAC costs ~0.6 us, and the same customers come back all the time.
    private var cache: [String: String] = [:]

    mutating func string(_ value: String) {
        guard next(), let key else { return inner.string(value) }
        if let known = cache[value] { return inner.string(known) }
        if cache.count >= 200_000 { cache.removeAll(keepingCapacity: true) }
        let pseudonym = key.pseudonym(value)
        cache[value] = pseudonym
        inner.string(pseudonym)
    }
    mutating func int64(_ value: Int64) { _ = next(); inner.int64(value) }
    mutating func double(_ value: Double) { _ = next(); inner.double(value) }
    mutating func bool(_ value: Bool) { _ = next(); inner.bool(value) }
    mutating func timestamp(_ epochMillis: Int64) { _ = next(); inner.timestamp(epochMillis) }
    mutating func date(_ epochDays: Int32) { _ = next(); inner.date(epochDays) }
    mutating func decimal(_ units: Int128, scale: Int) { _ = next(); inner.decimal(units, scale: scale) }
    mutating func stringArray(_ values: [String]) { _ = next(); inner.stringArray(values) }
    mutating func json(_ document: String) { _ = next(); inner.json(document) }
    mutating func null() { _ = next(); inner.null() }

    /// Called by the writer after each row: the next value is the first column's.
    mutating func rowEnded() { column = 0 }
}
