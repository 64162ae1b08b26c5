import Foundation
import Logging

/// A checkpoint chosen to restore: its metadata, its task snapshots, and its directory.
typealias RestorePoint = (metadata: CheckpointMetadata, snapshots: [(CheckpointMetadata.TaskFile, TaskSnapshot)],
                          directory: String)

/// Chooses the checkpoint a run of a job resumes from, and reads what its sources recorded in it. A ``JobRunner``
/// uses one before it starts; the Kafka runner uses one alone to see how far each partition's run got.
public struct CheckpointRestorer: Sendable {
    let plan: PhysicalPlan
    let storage: CheckpointStorage
    /// Each source's identity (``SourceBinding/identity``), by source name: a checkpoint of another input is refused.
    let sources: [String: String]
    let restore: RestoreMode
    let logger: Logger

    public init(plan: PhysicalPlan, storage: CheckpointStorage, sources: [String: String], restore: RestoreMode,
                logger: Logger) {
        self.plan = plan
        self.storage = storage
        self.sources = sources
        self.restore = restore
        self.logger = logger
    }

    /// The chosen checkpoint's id and where it left each source split (split id -> the position's offset, and
    /// whether the split had ended); nil when there is none to restore.
    public func latestSplits() throws -> (checkpoint: Int64, splits: [String: (offset: Int64, ended: Bool)])? {
        try choose().map { ($0.metadata.checkpointID, try splits(of: $0)) }
    }

    /// The checkpoint to resume from, with its snapshots: the newest valid one for `.latest`, skipping (with a
    /// warning) any whose metadata or files are missing or corrupt.
    func choose() throws -> RestorePoint? {
        switch restore {
        case .none:
            return nil
        case .path(let path):
            let (metadata, directory) = try CheckpointStorage.readMetadata(at: path)
            try checkCompatible(metadata)
            return (metadata, try storage.readSnapshots(metadata, in: directory), directory)
        case .latest:
            for listing in storage.list() {
                guard let metadata = listing.metadata else {
                    if let problem = listing.problem, problem != "incomplete (no metadata)" {
                        logger.warning("skipping checkpoint \(listing.id) of \(plan.graph.jobName): \(problem)")
                    }
                    continue
                }
                do {
                    try checkCompatible(metadata)
                    return (metadata, try storage.readSnapshots(metadata), storage.directory(metadata.checkpointID))
                } catch let error as ConfigError {
                    throw error
                } catch {
                    logger.warning("skipping checkpoint \(listing.id): \(error)")
                }
            }
            return nil
        }
    }

    /// Where the checkpoint left each source split.
    func splits(of point: RestorePoint) throws -> [String: (offset: Int64, ended: Bool)] {
        let restored = RestoredCheckpoint(
            id: point.metadata.checkpointID, snapshots: point.snapshots.map { ($0.0.task, $0.1) },
            directory: point.directory)
        var splits: [String: (offset: Int64, ended: Bool)] = [:]
        for node in plan.graph.nodes {
            guard case .source(let declaration) = node.factory else { continue }
            let state = restored.state(operators: [node.name], keyGroups: 0...(plan.maxParallelism - 1))
            for split in try state.operatorValues(declaration.nodeName + OperatorContext.scopeSeparator + "splits",
                                                  as: [SplitSnapshot].self).flatMap({ $0 }) {
                splits[split.splitID] = (split.position.offset, split.ended)
            }
        }
        return splits
    }

    private func checkCompatible(_ metadata: CheckpointMetadata) throws {
        for (name, identity) in sources {
            if let before = metadata.sources?[name], before != identity {
                throw ConfigError(
                    "checkpoint \(metadata.checkpointID) of \(plan.graph.jobName) read source '\(name)' as \(before); the "
                        + "topology now binds \(identity): restoring would mix two inputs (use --from-checkpoint none "
                        + "to start over, or another checkpoint.dir)")
            }
        }
        guard metadata.job == plan.graph.jobName else {
            throw ConfigError("checkpoint \(metadata.checkpointID) belongs to job '\(metadata.job)', not '\(plan.graph.jobName)'")
        }
        guard metadata.maxParallelism == plan.maxParallelism else {
            throw ConfigError(
                "checkpoint \(metadata.checkpointID) has \(metadata.maxParallelism) key groups; job.max_parallelism is "
                    + "\(plan.maxParallelism) and cannot change while restoring (use --from-checkpoint none to start over)")
        }
    }
}
