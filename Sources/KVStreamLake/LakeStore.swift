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
    /// Removes what instances of `scope` staged or left in progress, and their visible files of checkpoints after
    /// `restoredCheckpoint`.
    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws
}

/// A lake in a local (or network-mounted) directory: files are written in place under hidden names, staged by a
/// rename and committed by another.
struct LocalLakeStore: LakeStore {
    let root: String
    let configKey: String

    init(root: String, configKey: String) {
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
        return .rename(from: pending, to: directory + "/" + name)
    }

    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        let directory = root + "/" + table
        guard let partitions = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for partition in partitions where partition.hasPrefix("dt=") {
            let path = directory + "/" + partition
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                guard let file = parseLakeFile(name), LakeSinkConnector.instance(file.instance, isIn: scope),
                      !file.visible || file.checkpoint > restoredCheckpoint
                else { continue }
                do {
                    try FileManager.default.removeItem(atPath: path + "/" + name)
                } catch {
                    throw ConnectorError("cannot remove uncommitted \(path)/\(name): \(error.localizedDescription)")
                }
            }
        }
    }
}
