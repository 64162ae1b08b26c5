import Foundation

/// Writes rows of one table for one task instance, in two phases: rows as they come, then at each checkpoint
/// barrier everything written since the previous one is *staged*; the coordinator commits the staged actions
/// once the checkpoint is complete, so readers only ever see rows of complete checkpoints.
public protocol SinkWriter: AnyObject {
    func write<R: SinkRow>(_ rows: [R]) throws
    /// Stages what was written since the last call as part of checkpoint `checkpointID`; returns the actions
    /// that make it visible. They must be idempotent: a restart replays those of the checkpoint it restores.
    func prepareCommit(checkpointID: Int64) throws -> [CommitAction]
    /// As ``prepareCommit(checkpointID:)``, at the end of the instance's input (a bounded run that read everything, or
    /// a stop): no row follows in this run, so a writer may tidy up what it would otherwise leave for later barriers.
    /// Defaults to ``prepareCommit(checkpointID:)``.
    func prepareFinalCommit(checkpointID: Int64) throws -> [CommitAction]
    /// Releases resources; what was written but not staged is discarded (a restart writes it again).
    func close() throws
}

/// A writer with waits it must not spend on a thread of the cooperative pool (a Kafka producer's flush, or its full
/// local queue). After every input event, and so after each ``SinkWriter/prepareCommit(checkpointID:)`` and before
/// the task acknowledges the checkpoint, the task awaits ``finishPending()`` while ``hasPendingWork``: a checkpoint
/// covers only what is durable, and the task reads no further input meanwhile (backpressure).
public protocol AsyncSinkWriter: SinkWriter {
    /// Whether something waits: staging since the last prepare, or rows held back.
    var hasPendingWork: Bool { get }
    /// Waits for it off the cooperative pool; a throw fails the job.
    func finishPending() async throws
}

/// Binds a sink name of a job to where its tables go; created from one `[sinks.NAME]` section.
public protocol SinkConnector: Sendable {
    /// The connector type named in the topology (`jsonl`, `postgres`, `lake`, `kafka`).
    var type: String { get }
    /// A one-line description for `kvstream describe` (never secrets).
    var summary: String { get }
    /// A writer for one instance of the sink operator. `instance` is unique among the job's instances on every
    /// machine (`3`, or `p5.3` in a run scoped to input partition 5) and has no `-`. `metrics` takes the
    /// connector's own counters (``JobMetrics/count(_:_:)``).
    func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter
    /// Before a (re)start, after the restored checkpoint's commits were replayed: removes what earlier runs
    /// wrote or staged that the restored checkpoint does not cover: everything staged, and what checkpoints after
    /// `restoredCheckpoint` committed (0: none is restored, the job starts over). Only outputs of instances in
    /// `scope` are touched (nil: the unscoped instances `0`, `1`, ...; `p5`: the instances `p5.N`), since runs
    /// scoped to other partitions go on beside this one.
    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws
    /// Where rows of `table` end up, so that two sinks writing the same place can be refused at job start.
    func location(table: String) -> String
}

/// Errors of sinks and sources, one line each.
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SinkWriter {
    public func prepareFinalCommit(checkpointID: Int64) throws -> [CommitAction] {
        try prepareCommit(checkpointID: checkpointID)
    }
}

extension SinkConnector {
    /// Whether an output of the sink operator instance `instance` (`3`, `p5.3`) belongs to `scope`.
    public static func instance(_ instance: Substring, isIn scope: String?) -> Bool {
        guard let scope else { return !instance.isEmpty && instance.allSatisfy(\.isNumber) }
        return instance.hasPrefix(scope + ".")
    }
}

/// Where an optional sink's rows go when the topology does not bind it: nowhere.
struct DiscardSinkConnector: SinkConnector {
    let name: String
    var type: String { "none" }
    var summary: String { "not configured ([sinks.\(name)] is absent): rows are discarded" }
    func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        DiscardWriter()
    }
    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {}
    func location(table: String) -> String { "none:\(name)/\(table)" }
}

final class DiscardWriter: SinkWriter {
    func write<R: SinkRow>(_ rows: [R]) throws {}
    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] { [] }
    func close() throws {}
}
