import Foundation

/// The record of a complete checkpoint, written last and atomically: a checkpoint without valid metadata does
/// not exist.
public struct CheckpointMetadata: Codable, Sendable, Equatable {
    public struct TaskFile: Codable, Sendable, Equatable {
        /// The task's first operator.
        public var task: String
        public var subtask: Int
        /// The snapshot file, relative to the checkpoint directory.
        public var file: String
        public var bytes: Int
        /// The CRC-32 of the file, checked before restoring from it.
        public var crc32: UInt32
    }

    public struct Commit: Codable, Sendable, Equatable {
        /// `rename`, or the handler of an external commit.
        public var kind: String
        public var from: String?
        public var to: String?
        public var fields: [String: String]?
    }

    public var version = 1
    public var job: String
    public var checkpointID: Int64
    /// Wall-clock time the checkpoint was triggered, epoch milliseconds.
    public var triggeredAt: Int64
    public var completedAt: Int64
    public var maxParallelism: Int
    /// The parallelism each task ran with.
    public var parallelism: [String: Int]
    /// Whether every task had finished (bounded input exhausted, or the job stopped) and the snapshots are their
    /// final ones.
    public var final: Bool
    public var tasks: [TaskFile]
    public var commits: [Commit]
    /// Each source's identity (``SourceBinding/identity``) when the checkpoint was taken.
    public var sources: [String: String]? = nil

    public var totalBytes: Int { tasks.reduce(0) { $0 + $1.bytes } }

    var commitActions: [CommitAction] {
        commits.map { commit in
            if commit.kind == "rename", let from = commit.from, let to = commit.to { return .rename(from: from, to: to) }
            return .external(handler: commit.kind, fields: commit.fields ?? [:])
        }
    }

    static func commits(_ actions: [CommitAction]) -> [Commit] {
        actions.map { action in
            switch action {
            case .rename(let from, let to): Commit(kind: "rename", from: from, to: to)
            case .external(let handler, let fields): Commit(kind: handler, fields: fields)
            }
        }
    }
}
