import Foundation
import KVStream

/// Compaction of a lake's small files (`[sinks.NAME] compact`, `compact_min_files`, `compact_target_mb`): each
/// writer instance merges its own committed small files of one `dt` partition into one file, at a checkpoint
/// barrier, and the merged file replaces them when that checkpoint completes.
///
/// The merge copies row groups byte for byte (``ParquetFileMerger``). The replacement is a commit action, so it runs
/// only once the checkpoint is complete and a restart replays it: *retire* the inputs (rename them to hidden
/// `.part-...parquet.retired-<checkpoint>` names; in a bucket, copy them there and delete them), *publish* the merged
/// file (its pending name to `part-<instance>-<checkpoint>-<n>.parquet`), then delete the retired inputs. Every step
/// can be replayed: a retired input is kept until the merged file is visible, so a crash at any point loses nothing,
/// and a restart that restores an older checkpoint brings the inputs back (see ``inputToRestore(_:restoredCheckpoint:)``
/// and ``unmerge(_:restoredCheckpoint:)``).
///
/// - Important: Between the first retirement and the publication a reader that globs `*.parquet` misses the inputs'
///   rows (locally a few renames: microseconds; in a bucket a few requests), and a reader that listed the
///   partition before and opens an input after gets "not found". It never sees rows twice. `docs/lake.md` says why.
struct LakeCompaction: Sendable {
    var enabled = true
    /// A partition is compacted once it has this many small files of the instance of about the same size (or two
    /// files of any size, when it got no rows since the last checkpoint).
    var minFiles = 10
    /// A merged file holds at most about this many bytes.
    var targetBytes: Int
    /// Files smaller than this are small: half the target.
    var smallBytes: Int { targetBytes / 2 }

    /// The footer key-value entry of a merged file that lists the original files it holds, one `name rowGroups` a
    /// line, in order.
    static let compactedFromKey = "kvstream.compacted_from"
    static let localCommitHandler = "lake-local"
    static let localCompactHandler = "lake-local-compact"

    /// The files of one partition to merge now, oldest first, or nil. `files` are the instance's small committed files
    /// of the partition; `quiet` says the partition got no rows since the last checkpoint.
    ///
    /// While a partition gets rows, files merge by size tier (sizes within a factor of `minFiles`), `minFiles` of a
    /// tier at a time, as in size-tiered LSM compaction: a byte is rewritten about log_minFiles(target / file size)
    /// times, where merging every small file each time would rewrite the growing merged file again and again. A quiet
    /// partition (one day's data once the day is over, or late rows that stopped coming) merges all its small files.
    func plan(_ files: [LakeFile], quiet: Bool) -> [LakeFile]? {
        let small = files.filter { $0.bytes < smallBytes }.sorted { ($0.checkpoint, $0.name) < ($1.checkpoint, $1.name) }
        var candidates = small
        if !quiet {
            let base = log(Double(max(minFiles, 2)))
            let tiers = Dictionary(grouping: small) { Int(log(Double(max($0.bytes, 1))) / base) }
            guard let tier = tiers.filter({ $0.value.count >= minFiles }).min(by: { $0.key < $1.key }) else { return nil }
            candidates = tier.value
        }
        var chosen: [LakeFile] = []
        var total = 0
        for file in candidates {
            if !chosen.isEmpty && total + file.bytes > targetBytes { break }
            chosen.append(file)
            total += file.bytes
        }
        return chosen.count >= 2 ? chosen : nil
    }

    /// Merges `inputs` (name and bytes, in order) into one file whose footer lists the original files.
    static func merge(_ inputs: [(name: String, bytes: [UInt8])]) throws -> [UInt8] {
        var parts: [ParquetFileMerger.Part] = []
        var from: [String] = []
        for input in inputs {
            let footer = try ParquetFooter(input.bytes)
            parts.append(.init(footer))
            if let nested = footer.keyValues.first(where: { $0.key == compactedFromKey }) {
                from.append(nested.value)
            } else {
                from.append("\(input.name) \(footer.rowGroups.count)")
            }
        }
        return try ParquetFileMerger.merge(parts, keyValues: [(compactedFromKey, from.joined(separator: "\n"))])
    }

    /// The original files a merged file holds that checkpoint `restoredCheckpoint` covers, rebuilt from its row
    /// groups (names and contents), for a restart that rolls back past the compaction; nil for a file that is not
    /// a merge.
    static func unmerge(_ bytes: [UInt8], restoredCheckpoint: Int64) throws -> [(name: String, bytes: [UInt8])]? {
        let footer = try ParquetFooter(bytes)
        guard let from = footer.keyValues.first(where: { $0.key == compactedFromKey })?.value else { return nil }
        var files: [(name: String, bytes: [UInt8])] = []
        var next = 0
        for line in from.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let count = Int(fields[1]), next + count <= footer.rowGroups.count,
                  let original = parseLakeFile(String(fields[0]))
            else { throw ConnectorError("a merged file with a malformed \(compactedFromKey)") }
            defer { next += count }
            guard original.checkpoint <= restoredCheckpoint else { continue }
            let part = ParquetFileMerger.Part(footer, rowGroups: next..<next + count)
            files.append((String(fields[0]), try ParquetFileMerger.merge([part])))
        }
        return files
    }

    /// The hidden name an input has between its retirement and the end of the compaction of `checkpoint`.
    static func retiredName(_ path: Substring, checkpoint: Int64) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return path[..<slash] + "." + path[slash...] + ".retired-\(checkpoint)"
    }

    /// For a retired input found at start: its visible name when the restored checkpoint predates the compaction
    /// that retired it and covers the input itself (the rollback puts it back); nil when it is to be deleted.
    static func inputToRestore(_ name: String, restoredCheckpoint: Int64) -> String? {
        guard let marker = name.range(of: ".parquet.retired-"), let compaction = Int64(name[marker.upperBound...]),
              compaction > restoredCheckpoint, let input = parseLakeFile(name), input.checkpoint <= restoredCheckpoint
        else { return nil }
        return String(name[name.index(after: name.startIndex)..<marker.lowerBound]) + ".parquet"
    }

    /// Writes `bytes` to a new file at `path` and syncs it (the caller renames it into place).
    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConnectorError("cannot create \(path): \(FileSystem.lastError())") }
        defer { close(fd) }
        var output = ParquetFileDescriptorOutput(fileDescriptor: fd)
        try bytes.withUnsafeBytes { try output.write($0) }
        guard fsync(fd) == 0 else { throw ConnectorError("cannot sync \(path): \(FileSystem.lastError())") }
    }

    /// Registers the commit handlers of local lakes (their fields hold absolute paths, so one pair serves all).
    static func registerLocalHandlers() {
        CommitHandlers.register(localCommitHandler) { fields in
            guard let from = fields["from"], let to = fields["to"] else {
                throw ConnectorError("a lake commit without its paths: \(fields)")
            }
            // Replayed after a later compaction merged the file away: neither name exists, which is done.
            if access(from, F_OK) != 0 && access(to, F_OK) != 0 && access((to as NSString).deletingLastPathComponent, F_OK) == 0 {
                return
            }
            try FileSystem.renameIdempotent(from: from, to: to)
        }
        CommitHandlers.register(localCompactHandler) { fields in try commitLocally(fields) }
    }

    /// Retires the inputs, publishes the merged file, deletes the retired inputs; each step idempotent.
    static func commitLocally(_ fields: [String: String]) throws {
        guard let pending = fields["pending"], let merged = fields["merged"], let inputs = fields["inputs"],
              let checkpoint = fields["checkpoint"].flatMap({ Int64($0) })
        else { throw ConnectorError("a lake compaction without its fields: \(fields)") }
        let paths = inputs.split(separator: "\n")
        // Without the pending file, the merged file was published already (and maybe merged again since).
        if access(pending, F_OK) == 0 {
            for path in paths where access(String(path), F_OK) == 0 {
                guard rename(String(path), retiredName(path, checkpoint: checkpoint)) == 0 else {
                    throw ConnectorError("cannot retire \(path): \(FileSystem.lastError())")
                }
            }
            guard rename(pending, merged) == 0 else {
                throw ConnectorError("cannot publish \(merged): \(FileSystem.lastError())")
            }
            FileSystem.syncDirectory(of: merged)
        }
        for path in paths { unlink(retiredName(path, checkpoint: checkpoint)) }
    }
}
