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
            try client.moveObject(from: from, to: to)
        }
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

    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {
        for key in try client.listObjects(prefix: location.key(table + "/")) {
            let name = String(key.split(separator: "/").last ?? "")
            guard let file = parseLakeFile(name), LakeSinkConnector.instance(file.instance, isIn: scope),
                  !file.visible || file.checkpoint > restoredCheckpoint
            else { continue }
            try client.deleteObject(key)
        }
        // Local files an earlier run of the scope left in progress.
        let directory = workRoot + "/" + table
        for partition in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + partition)) ?? [] {
                guard let file = parseLakeFile(name), LakeSinkConnector.instance(file.instance, isIn: scope) else { continue }
                unlink(directory + "/" + partition + "/" + name)
            }
        }
    }
}
