import Foundation
import KVStream
import Synchronization

/// The in-memory sink of the jobs benchmark: it keeps no rows, only their count per table, a tally to check the
/// result, and for the rows it traces, when the commit that makes them visible completed.
///
/// Like the PostgreSQL and lake sinks, it makes rows visible only when their checkpoint commits: each writer stages
/// what it received since the last barrier and returns an ``CommitAction/external(handler:fields:)`` commit, which
/// the checkpoint coordinator carries out once the checkpoint's metadata is durable. That commit stamps the rows'
/// visibility time. Every row is encoded once (the job's own formatting, e.g. fraud features as JSON), into an
/// encoder that keeps a few columns.
final class VisibilityLog: Sendable {
    /// How a traced table's rows lead back to the time their input was due at the source.
    enum Trace: Sendable {
        /// The `event_id` column: the generator's event `e<seed tag>-<index>`, due at `index / rate`.
        case eventID
        /// A window's end, from a timestamp column plus a length: the generator's event time moves like the clock,
        /// so the window closes, at the source, when the first event at or after its end is due.
        case windowEnd(column: String, plusMillis: Int64)
    }

    /// Integers of a table by key, to check a run's result: with `value`, that column's last value per key (the
    /// primary key of an upsert table); without, the count of rows per key.
    struct Tally: Sendable {
        var value: String?
        var key: [String]
    }

    /// The generator's pace: events per second of wall-clock time (equal to its events per second of event time)
    /// and the event time of event 0.
    struct Pace: Sendable {
        var rate: Double
        var startMillis: Int64
    }

    /// Rows a checkpoint made visible: when, and the due times (nanoseconds after the generator's start) of those
    /// traced.
    struct Commit: Sendable {
        var nanos: UInt64
        var due: [Int64]
    }

    fileprivate struct Staged: Sendable {
        var table: String
        var rows: Int
        var due: [Int64]
        var tally: [String: Int64]
    }

    private struct Tables: Sendable {
        var rows: [String: Int] = [:]
        var tallies: [String: [String: Int64]] = [:]
    }

    /// The name under which ``CommitHandlers`` knows this log's commits (unique per run).
    let handler = "bench-visibility-\(UUID())"
    let traces: [String: Trace]
    let tallies: [String: Tally]
    let pace: Pace?
    private let staged = Mutex<[String: Staged]>([:])
    private let tables = Mutex(Tables())
    private let commits = Mutex<[Commit]>([])

    /// - Parameters:
    ///   - traces: the tables whose rows are traced back to their input, and how.
    ///   - pace: the generator's pace; nil (a run as fast as possible) traces nothing.
    init(traces: [String: Trace], tallies: [String: Tally] = [:], pace: Pace?) {
        self.traces = pace == nil ? [:] : traces
        self.tallies = tallies
        self.pace = pace
        CommitHandlers.register(handler) { [weak self] fields in self?.commit(fields) }
    }

    fileprivate func stage(_ writer: String, checkpoint: Int64, _ done: Staged) {
        staged.withLock { $0["\(writer)@\(checkpoint)"] = done }
    }

    /// Idempotent, as commits must be: a commit replayed (an abandoned checkpoint's, carried by the next) finds
    /// nothing staged any more.
    private func commit(_ fields: [String: String]) {
        let now = Clock.monotonicNanos()
        guard let writer = fields["writer"], let checkpoint = fields["checkpoint"],
              let done = staged.withLock({ $0.removeValue(forKey: "\(writer)@\(checkpoint)") })
        else { return }
        let upsert = tallies[done.table]?.value != nil
        tables.withLock {
            $0.rows[done.table, default: 0] += done.rows
            for (key, value) in done.tally {
                $0.tallies[done.table, default: [:]][key] = upsert ? value : ($0.tallies[done.table]?[key] ?? 0) + value
            }
        }
        if !done.due.isEmpty { commits.withLock { $0.append(Commit(nanos: now, due: done.due)) } }
    }

    /// Rows committed to `table`.
    func rows(_ table: String) -> Int { tables.withLock { $0.rows[table] ?? 0 } }
    /// The tally of `table`, by key (its parts joined by `|`).
    func tally(_ table: String) -> [String: Int64] { tables.withLock { $0.tallies[table] ?? [:] } }
    var committed: [Commit] { commits.withLock { $0 } }
}

/// Binds the jobs' sinks (`postgres`, `lake`) to a ``VisibilityLog``.
struct VisibilitySinkConnector: SinkConnector {
    let name: String
    let log: VisibilityLog

    var type: String { "bench" }
    var summary: String { "in memory, rows counted and traced to their commit" }

    func makeWriter(table: String, schema: TableSchema, instance: String, metrics: JobMetrics) throws -> SinkWriter {
        func column(_ name: String) throws -> Int {
            guard let i = schema.columns.firstIndex(where: { $0.name == name }) else {
                throw ConnectorError("bench sink: table \(table) has no column \(name)")
            }
            return i
        }
        var capture = ColumnCapture()
        switch log.traces[table] {
        case .eventID: capture.traced = try column("event_id")
        case .windowEnd(let name, let plus):
            capture.traced = try column(name)
            capture.tracedPlus = plus
        case nil: break
        }
        let firstOnly = capture.traced >= 0 && schema.mode == .upsert
        if let tally = log.tallies[table] {
            capture.key = try tally.key.map(column)
            capture.value = try tally.value.map(column) ?? -1
        } else if firstOnly {
            capture.key = try schema.primaryKey.map(column)
        }
        return VisibilityWriter(log: log, id: "\(name)/\(table)/\(instance)", table: table, capture: capture,
                                tallied: log.tallies[table] != nil, firstOnly: firstOnly)
    }

    func recover(table: String, restoredCheckpoint: Int64, scope: String?) throws {}
    func location(table: String) -> String { "bench:\(ObjectIdentifier(log))/\(name)/\(table)" }
}

final class VisibilityWriter: SinkWriter {
    let log: VisibilityLog
    let id: String
    let table: String
    /// Which columns to keep, with nothing kept yet.
    let capture: ColumnCapture
    let tallied: Bool
    /// Traces only a key's first row (an upsert table's later rows are updates by late payments: their input is
    /// not the one the traced column names).
    let firstOnly: Bool
    private var seen: Set<String> = []
    private var rows = 0
    private var due: [Int64] = []
    private var tally: [String: Int64] = [:]

    init(log: VisibilityLog, id: String, table: String, capture: ColumnCapture, tallied: Bool, firstOnly: Bool) {
        self.log = log
        self.id = id
        self.table = table
        self.capture = capture
        self.tallied = tallied
        self.firstOnly = firstOnly
    }

    func write<R: SinkRow>(_ batch: [R]) throws {
        rows += batch.count
        let upsert = capture.value >= 0
        for row in batch {
            var kept = capture
            row.encode(to: &kept)
            let key = kept.keyParts.joined(separator: "|")
            if tallied { tally[key] = upsert ? kept.valueKept : (tally[key] ?? 0) + 1 }
            guard capture.traced >= 0, let pace = log.pace else { continue }
            // A key belongs to one instance (its key group), so this writer sees all of its rows.
            if firstOnly && !seen.insert(key).inserted { continue }
            if let id = kept.tracedString {
                guard let index = Self.generatorIndex(id) else {
                    throw ConnectorError("bench sink: event id \(id) is not a generator's")
                }
                due.append(Int64((Double(index) / pace.rate * 1e9).rounded()))
            } else if let millis = kept.tracedInt {
                due.append((millis + capture.tracedPlus - pace.startMillis) * 1_000_000)
            }
        }
    }

    /// The index in a generator's event id, `e<seed tag>-<index>`.
    static func generatorIndex(_ id: String) -> Int64? {
        guard let dash = id.utf8.lastIndex(of: UInt8(ascii: "-")) else { return nil }
        return Int64(id[id.utf8.index(after: dash)...])
    }

    func prepareCommit(checkpointID: Int64) throws -> [CommitAction] {
        log.stage(id, checkpoint: checkpointID, VisibilityLog.Staged(table: table, rows: rows, due: due, tally: tally))
        rows = 0
        due = []
        tally = [:]
        return [.external(handler: log.handler, fields: ["writer": id, "checkpoint": "\(checkpointID)"])]
    }

    func close() throws {}
}

/// Keeps a few columns of a row: the traced one (a string or a timestamp), those of a tally's key, and its value.
struct ColumnCapture: RowEncoder {
    var traced = -1
    var tracedPlus: Int64 = 0
    var key: [Int] = []
    var value = -1
    private var column = 0
    private(set) var tracedString: String?
    private(set) var tracedInt: Int64?
    private(set) var keyParts: [String] = []
    private(set) var valueKept: Int64 = 0

    private mutating func next(_ int: Int64? = nil, _ text: @autoclosure () -> String = "") {
        if column == traced { tracedInt = int }
        if column == value, let int { valueKept = int }
        if !key.isEmpty && key.contains(column) { keyParts.append(int.map(String.init) ?? text()) }
        column += 1
    }

    mutating func string(_ value: String) {
        if column == traced { tracedString = value }
        next(nil, value)
    }
    mutating func int64(_ value: Int64) { next(value) }
    mutating func double(_ value: Double) { next(nil, "\(value)") }
    mutating func bool(_ value: Bool) { next(value ? 1 : 0) }
    mutating func timestamp(_ epochMillis: Int64) { next(epochMillis) }
    mutating func date(_ epochDays: Int32) { next(Int64(epochDays)) }
    mutating func decimal(_ units: Int128, scale: Int) { next(Int64(truncatingIfNeeded: units)) }
    mutating func stringArray(_ values: [String]) { next(nil, values.joined(separator: ",")) }
    mutating func json(_ document: String) { next(nil, document) }
    mutating func null() { next(nil, "null") }
}
