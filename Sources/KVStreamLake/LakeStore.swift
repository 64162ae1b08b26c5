import Foundation
import KVStream

/// Where a lake's files go: a local directory or an S3-compatible bucket. Files are always written locally first
/// (Parquet needs its footer last); the store stages them under hidden names at a barrier and makes them visible
/// when their checkpoint completes.
protocol LakeStore: Sendable {
    /// For messages and location checks (`/data/lake`, `s3://bucket/prefix`).
    var description: String { get }
    /// The local directory where a table's files are written before they are staged.
    func workDirectory(table: String) throws -> String
    /// Stages a finished local file as `name` in `partition` of `table`; returns the action that makes it visible.
    func stage(localFile: String, table: String, partition: String, name: String) throws -> CommitAction
    /// Stages a merged file as `name` in `partition` of `table`; returns the action that replaces `inputs` (visible
    /// names in the same partition) by it when checkpoint `checkpoint` completes (see ``LakeCompaction``).
    func stageCompaction(
        localFile: String, table: String, partition: String, name: String, inputs: [String], checkpoint: Int64
    ) throws -> CommitAction
    /// The bytes of a file that is committed, or staged and about to be (its visible name or its pending one).
    func read(table: String, partition: String, name: String) throws -> [UInt8]
    /// The visible files of `table` that `instance` wrote.
    func committedFiles(table: String, instance: String) throws -> [LakeFile]
    /// Removes what instances of `scope` staged or left in progress, and their visible files of checkpoints after
    /// `restoredCheckpoint`; undoes their compactions of later checkpoints.
    func recover(table: String, restoredCheckpoint: Int64, owner: LakeOwner) throws
}

/// A visible file of the lake.
struct LakeFile: Equatable {
    var partition: String
    var name: String
    var bytes: Int
    /// The checkpoint in its name.
    var checkpoint: Int64
}

/// A lake in a local (or network-mounted) directory: files are written in place under hidden names, staged by a
/// rename and committed by another.
struct LocalLakeStore: LakeStore {
    let root: String
    let configKey: String

    init(root: String, configKey: String) {
        LakeCompaction.registerLocalHandlers()
        // Absolute, so that commit actions recorded in checkpoints stay valid from another working directory.
        self.root = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.configKey = configKey
    }

    var description: String { root }

    func workDirectory(table: String) throws -> String {
        let directory = root + "/" + table
        do {
            try FileSystem.makeDirectories(directory)
        } catch {
            throw ConnectorError("\(error) (check \(configKey))")
        }
        return directory
    }

    func stage(localFile: String, table: String, partition: String, name: String) throws -> CommitAction {
        let directory = root + "/" + table + "/" + partition
        let pending = directory + "/." + name + ".pending"
        guard rename(localFile, pending) == 0 else {
            throw ConnectorError("cannot stage \(localFile): \(FileSystem.lastError())")
        }
        FileSystem.syncDirectory(of: pending)
        return .external(handler: LakeCompaction.localCommitHandler, fields: ["from": pending, "to": directory + "/" + name])
    }

    func stageCompaction(
        localFile: String, table: String, partition: String, name: String, inputs: [String], checkpoint: Int64
    ) throws -> CommitAction {
        let directory = root + "/" + table + "/" + partition
        guard case .external(_, let fields) = try stage(localFile: localFile, table: table, partition: partition, name: name)
        else { preconditionFailure("a local stage is an external commit") }
        return .external(handler: LakeCompaction.localCompactHandler, fields: [
            "pending": fields["from"]!, "merged": fields["to"]!, "checkpoint": String(checkpoint),
            "inputs": inputs.map { directory + "/" + $0 }.joined(separator: "\n"),
        ])
    }

    func read(table: String, partition: String, name: String) throws -> [UInt8] {
        let directory = root + "/" + table + "/" + partition + "/"
        for path in [directory + name, directory + "." + name + ".pending"] {
            if let data = FileManager.default.contents(atPath: path) { return [UInt8](data) }
        }
        throw ConnectorError("cannot read \(directory)\(name) to compact it: it is gone")
    }

    func committedFiles(table: String, instance: String) throws -> [LakeFile] {
        let directory = root + "/" + table
        var files: [LakeFile] = []
        for partition in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where partition.hasPrefix("dt=") {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + partition)) ?? [] {
                guard let file = parseLakeFile(name), file.visible, file.instance == instance,
                      let size = try? FileManager.default.attributesOfItem(atPath: directory + "/" + partition + "/" + name)[.size]
                        as? Int
                else { continue }
                files.append(LakeFile(partition: partition, name: name, bytes: size, checkpoint: file.checkpoint))
            }
        }
        return files
    }

    func recover(table: String, restoredCheckpoint: Int64, owner: LakeOwner) throws {
        let directory = root + "/" + table
        guard let partitions = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for partition in partitions where partition.hasPrefix("dt=") {
            let path = directory + "/" + partition
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                guard let file = parseLakeFile(name), owner.owns(file.instance),
                      !file.visible || file.checkpoint > restoredCheckpoint
                else { continue }
                if let visible = LakeCompaction.inputToRestore(name, restoredCheckpoint: restoredCheckpoint) {
                    try FileSystem.renameIdempotent(from: path + "/" + name, to: path + "/" + visible)
                    continue
                }
                if file.visible, restoredCheckpoint > 0, let data = FileManager.default.contents(atPath: path + "/" + name),
                   let originals = try LakeCompaction.unmerge([UInt8](data), restoredCheckpoint: restoredCheckpoint)
                {
                    // A merge of a later checkpoint: its inputs that the restored checkpoint covers come back.
                    for original in originals {
                        let temporary = path + "/." + original.name + ".restoring"
                        try LakeCompaction.writeFile(original.bytes, to: temporary)
                        try FileSystem.renameIdempotent(from: temporary, to: path + "/" + original.name)
                    }
                }
                do {
                    try FileManager.default.removeItem(atPath: path + "/" + name)
                } catch {
                    throw ConnectorError("cannot remove uncommitted \(path)/\(name): \(error.localizedDescription)")
                }
            }
        }
    }
}
