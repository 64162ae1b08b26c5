import Foundation
import Logging

/// Where a job's checkpoints live: `<checkpoint.dir>/<job>/chk-<id>/` with one snapshot file per task instance
/// and a `_metadata` file written last.
public struct CheckpointStorage: Sendable {
    public let root: String

    public init(directory: String, job: String) { root = directory + "/" + job }

    public func directory(_ id: Int64) -> String { root + "/chk-\(id)" }

    /// Bytes under a checkpoint's directory, store checkpoints included (hard-linked files count in full).
    public func size(_ id: Int64) -> Int {
        guard let files = FileManager.default.enumerator(atPath: directory(id)) else { return 0 }
        var total = 0
        for case let name as String in files {
            var st = stat()
            if stat(directory(id) + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int(st.st_size) }
        }
        return total
    }

    /// A checkpoint directory as found on disk.
    public struct Listing: Sendable {
        public var id: Int64
        public var metadata: CheckpointMetadata?
        /// Why the checkpoint cannot be used, when it cannot.
        public var problem: String?
    }

    /// Writes one task instance's snapshot into the checkpoint's directory.
    func writeTaskSnapshot(_ snapshot: TaskSnapshot, id: Int64, task: String, subtask: Int) throws
        -> CheckpointMetadata.TaskFile
    {
        let dir = directory(id)
        try FileSystem.makeDirectories(dir)
        let name = "\(Self.fileSafe(task))-\(subtask).snap"
        let bytes = SnapshotFile.encode(snapshot)
        try FileSystem.writeAtomically(bytes, to: dir + "/" + name)
        return CheckpointMetadata.TaskFile(
            task: task, subtask: subtask, file: name, bytes: bytes.count, crc32: CRC32.checksum(bytes))
    }

    /// Completes a checkpoint: its metadata becomes visible atomically (temporary file, fsync, rename).
    func writeMetadata(_ metadata: CheckpointMetadata) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(metadata)
        try FileSystem.writeAtomically(Array(data), to: directory(metadata.checkpointID) + "/_metadata")
    }

    /// Every checkpoint directory, newest first, with its metadata when it is valid.
    public func list() -> [Listing] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        let ids = names.compactMap { $0.hasPrefix("chk-") ? Int64($0.dropFirst(4)) : nil }.sorted(by: >)
        return ids.map { id in
            let path = directory(id) + "/_metadata"
            guard let data = FileManager.default.contents(atPath: path) else {
                return Listing(id: id, metadata: nil, problem: "incomplete (no metadata)")
            }
            guard let metadata = try? JSONDecoder().decode(CheckpointMetadata.self, from: data),
                  metadata.checkpointID == id
            else {
                return Listing(id: id, metadata: nil, problem: "metadata is corrupt")
            }
            return Listing(id: id, metadata: metadata, problem: nil)
        }
    }

    /// Reads the metadata of the checkpoint in `directory` (a `chk-<id>` directory or its `_metadata` file).
    static func readMetadata(at path: String) throws -> (CheckpointMetadata, directory: String) {
        let directory = path.hasSuffix("/_metadata") ? String(path.dropLast("/_metadata".count)) : path
        guard let data = FileManager.default.contents(atPath: directory + "/_metadata") else {
            throw ConnectorError("no checkpoint at \(path): \(directory)/_metadata is missing")
        }
        do {
            return (try JSONDecoder().decode(CheckpointMetadata.self, from: data), directory)
        } catch {
            throw ConnectorError("checkpoint metadata at \(directory) is corrupt")
        }
    }

    /// Reads a checkpoint's snapshot files, verifying each against its recorded CRC.
    func readSnapshots(_ metadata: CheckpointMetadata, in directory: String? = nil) throws
        -> [(CheckpointMetadata.TaskFile, TaskSnapshot)]
    {
        try metadata.tasks.map { file in
            let path = (directory ?? self.directory(metadata.checkpointID)) + "/" + file.file
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConnectorError("checkpoint \(metadata.checkpointID): missing \(file.file)")
            }
            let bytes = Array(data)
            guard bytes.count == file.bytes, CRC32.checksum(bytes) == file.crc32 else {
                throw ConnectorError("checkpoint \(metadata.checkpointID): \(file.file) does not match its metadata")
            }
            do {
                return (file, try SnapshotFile.decode(bytes, origin: path))
            } catch {
                throw ConnectorError("checkpoint \(metadata.checkpointID): \(error)")
            }
        }
    }

    /// Deletes all but the newest `retained` complete checkpoints, and incomplete ones older than the newest
    /// complete one (a crash leaves those behind).
    func prune(retained: Int, logger: Logger) {
        let listings = list()
        var kept = 0
        let newestComplete = listings.first { $0.metadata != nil }?.id ?? .min
        for listing in listings {
            if listing.metadata != nil {
                kept += 1
                if kept <= retained { continue }
            } else if listing.id > newestComplete {
                continue  // may still be in progress
            }
            do {
                try FileManager.default.removeItem(atPath: directory(listing.id))
            } catch {
                logger.warning("cannot delete old checkpoint \(directory(listing.id)): \(error.localizedDescription)")
            }
        }
    }

    /// Removes checkpoints newer than `id` (0: all): a run that restores `id` will write checkpoints with those
    /// ids again, and whatever an earlier, killed run left under them is garbage.
    func removeCheckpoints(after id: Int64) throws {
        for listing in list() where listing.id > id {
            do {
                try FileManager.default.removeItem(atPath: directory(listing.id))
            } catch {
                throw ConnectorError("cannot remove stale checkpoint \(directory(listing.id)): \(error.localizedDescription)")
            }
        }
    }

    static func fileSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}
