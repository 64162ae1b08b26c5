import Foundation
import KVStream
import KVStreamS3

/// A lake in an S3-compatible bucket (`path = "s3://bucket/prefix"`, with `endpoint`, `region` and optionally
/// `credentials_file`; otherwise the keys come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
///
/// Files are written under a local `work_dir` (default `state/lake-work/<sink>`), uploaded at the barrier under
/// a hidden name (`.part-....parquet.pending`, which `*.parquet` globs skip), and moved to their visible name
/// (copy, then delete) when the checkpoint completes. The move is idempotent, so a replayed commit does no harm.
struct S3LakeStore: LakeStore {
    let client: S3Client
    let location: S3Location
    let workRoot: String
    let handler: String
    let compactHandler: String

    init(url: String, section: Settings, sink: String) throws {
        guard let location = S3Location(url) else {
            throw section.error(at: "path", "\(url) is not an s3://bucket/prefix URL")
        }
        guard let endpointText = try section.string("endpoint"), let endpoint = URL(string: endpointText) else {
            throw section.error(at: "endpoint", "is needed with an s3:// path (e.g. http://127.0.0.1:9000)")
        }
        let credentials: S3Credentials
        do {
            credentials = try section.string("credentials_file").map { try S3Credentials.fromFile($0) }
                ?? S3Credentials.fromEnvironment()
        } catch {
            throw section.error(at: "credentials_file", "\(error)")
        }
        self.location = location
        client = try S3Client(S3Configuration(
            endpoint: endpoint, region: try section.string("region") ?? "us-east-1", bucket: location.bucket,
            credentials: credentials))
        let work = try section.string("work_dir") ?? "state/lake-work/\(sink)"
        workRoot = work.hasPrefix("/") ? work : FileManager.default.currentDirectoryPath + "/" + work
        handler = "lake-s3:\(sink)"
        let client = self.client
        CommitHandlers.register(handler) { fields in
            guard let from = fields["from"], let to = fields["to"] else {
                throw ConnectorError("an S3 lake commit without its keys: \(fields)")
            }
            do {
                try client.moveObject(from: from, to: to)
            } catch let error as S3Error where error.code == "NoSuchKey" {
                // Neither key exists: a replay after a later compaction merged the file away.
            }
        }
        compactHandler = "lake-s3-compact:\(sink)"
        CommitHandlers.register(compactHandler) { fields in try Self.commitCompaction(fields, client: client) }
    }

    /// The bucket's form of ``LakeCompaction/commitLocally(_:)``: copy the inputs to their retired keys, delete them,
    /// move the merged file to its visible key, delete the retired copies. Each step idempotent.
    static func commitCompaction(_ fields: [String: String], client: S3Client) throws {
        guard let pending = fields["pending"], let merged = fields["merged"], let inputs = fields["inputs"],
              let checkpoint = fields["checkpoint"].flatMap({ Int64($0) })
        else { throw ConnectorError("a lake compaction without its fields: \(fields)") }
        let keys = inputs.split(separator: "\n").map(String.init)
        if try client.headObject(pending) != nil {
            // Copies first: until the deletes, readers see the inputs; from the first delete to the move, neither.
            for key in keys where try client.headObject(key) != nil {
                try client.copyObject(from: key, to: LakeCompaction.retiredName(key[...], checkpoint: checkpoint))
            }
            for key in keys { try client.deleteObject(key) }
            try client.moveObject(from: pending, to: merged)
        }
        for key in keys { try client.deleteObject(LakeCompaction.retiredName(key[...], checkpoint: checkpoint)) }
    }

    var description: String { location.description }

    func workDirectory(table: String) throws -> String {
        let directory = workRoot + "/" + table
        try FileSystem.makeDirectories(directory)
        return directory
    }

    func stage(localFile: String, table: String, partition: String, name: String) throws -> CommitAction {
        let data = try Data(contentsOf: URL(fileURLWithPath: localFile))
        let pending = location.key("\(table)/\(partition)/.\(name).pending")
        try client.putObject(pending, data)
        unlink(localFile)
        return .external(handler: handler, fields: ["from": pending, "to": location.key("\(table)/\(partition)/\(name)")])
    }

    func stageCompaction(
        localFile: String, table: String, partition: String, name: String, inputs: [String], checkpoint: Int64
    ) throws -> CommitAction {
        guard case .external(_, let fields) = try stage(localFile: localFile, table: table, partition: partition, name: name)
        else { preconditionFailure("an S3 stage is an external commit") }
        return .external(handler: compactHandler, fields: [
            "pending": fields["from"]!, "merged": fields["to"]!, "checkpoint": String(checkpoint),
            "inputs": inputs.map { location.key("\(table)/\(partition)/\($0)") }.joined(separator: "\n"),
        ])
    }

    func read(table: String, partition: String, name: String) throws -> [UInt8] {
        for key in [location.key("\(table)/\(partition)/\(name)"), location.key("\(table)/\(partition)/.\(name).pending")] {
            if let data = try client.getObject(key) { return [UInt8](data) }
        }
        throw ConnectorError("cannot read \(location)/\(table)/\(partition)/\(name) to compact it: it is gone")
    }

    func committedFiles(table: String, instance: String) throws -> [LakeFile] {
        try client.listObjectSizes(prefix: location.key(table + "/")).compactMap { key, size in
            let path = key.split(separator: "/")
            guard path.count >= 2, let file = parseLakeFile(String(path[path.count - 1])), file.visible,
                  file.instance == instance
            else { return nil }
            return LakeFile(partition: String(path[path.count - 2]), name: String(path[path.count - 1]), bytes: size,
                            checkpoint: file.checkpoint)
        }
    }

    func recover(table: String, restoredCheckpoint: Int64, owner: LakeOwner) throws {
        for key in try client.listObjects(prefix: location.key(table + "/")) {
            let name = String(key.split(separator: "/").last ?? "")
            guard let file = parseLakeFile(name), owner.owns(file.instance),
                  !file.visible || file.checkpoint > restoredCheckpoint
            else { continue }
            let directory = key.prefix(key.count - name.count)
            if let visible = LakeCompaction.inputToRestore(name, restoredCheckpoint: restoredCheckpoint) {
                try client.moveObject(from: key, to: directory + visible)
                continue
            }
            if file.visible, restoredCheckpoint > 0, let data = try client.getObject(key),
               let originals = try LakeCompaction.unmerge([UInt8](data), restoredCheckpoint: restoredCheckpoint)
            {
                // A merge of a later checkpoint: its inputs that the restored checkpoint covers come back.
                for original in originals { try client.putObject(directory + original.name, Data(original.bytes)) }
            }
            try client.deleteObject(key)
        }
        // Local files an earlier run of the scope left in progress.
        let directory = workRoot + "/" + table
        for partition in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + partition)) ?? [] {
                guard let file = parseLakeFile(name), owner.owns(file.instance) else { continue }
                unlink(directory + "/" + partition + "/" + name)
            }
        }
    }
}
