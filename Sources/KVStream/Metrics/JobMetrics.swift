import Synchronization

/// The counters of one running job, shared by all its tasks and read by the progress reporter.
///
/// Names follow SPEC (`kvstream_records_rejected_total`, `kvstream_records_late_total`); ``snapshot()`` returns
/// them in Prometheus text form's order.
public final class JobMetrics: Sendable {
    /// Valid records read by all sources.
    public let recordsIn = Atomic<Int>(0)
    /// Records rejected by a source's format.
    public let recordsRejected = Atomic<Int>(0)
    /// Records dropped by window operators as later than the allowed lateness.
    public let recordsLate = Atomic<Int>(0)
    /// Rows handed to sinks.
    public let recordsOut = Atomic<Int>(0)
    /// Batches that had to wait for a full downstream queue.
    public let backpressureWaits = Atomic<Int>(0)
    /// Checkpoints completed since the job started.
    public let checkpointsCompleted = Atomic<Int>(0)
    /// Checkpoints abandoned (timed out, declined by a task, or not writable).
    public let checkpointsFailed = Atomic<Int>(0)
    private let lastCheckpoint: Mutex<(id: Int64, bytes: Int, durationMillis: Int64, at: Int64)?> = Mutex(nil)
    private let watermarks: Mutex<[String: Int64]> = Mutex([:])
    private let sourceMaxTimestamps: Mutex<[String: Int64]> = Mutex([:])

    /// Connectors' own counters, by Prometheus name (`kvstream_kafka_delivery_failures_total`).
    private let named = Mutex<[String: Int]>([:])

    public init() {}

    /// Adds `n` to the connector counter `name`.
    public func count(_ name: String, _ n: Int = 1) { named.withLock { $0[name, default: 0] += n } }

    /// A connector counter's value.
    public func counter(_ name: String) -> Int { named.withLock { $0[name] ?? 0 } }

    /// Records the watermark of one source instance (key: source name and instance).
    public func setSourceWatermark(_ watermark: Int64, maxTimestamp: Int64, instance: String) {
        watermarks.withLock { $0[instance] = watermark }
        sourceMaxTimestamps.withLock { $0[instance] = maxTimestamp }
    }

    func recordCheckpoint(id: Int64, bytes: Int, durationMillis: Int64) {
        checkpointsCompleted.add(1, ordering: .relaxed)
        lastCheckpoint.withLock { $0 = (id, bytes, durationMillis, Clock.nowMillis()) }
    }

    /// The newest completed checkpoint: id, size, duration and when it completed.
    public var latestCheckpoint: (id: Int64, bytes: Int, durationMillis: Int64, at: Int64)? {
        lastCheckpoint.withLock { $0 }
    }

    /// The smallest watermark over the source instances that report one, or nil.
    public var sourceWatermark: Int64? { watermarks.withLock { $0.values.min() } }

    /// The largest event time read so far.
    public var maxEventTime: Int64? { sourceMaxTimestamps.withLock { $0.values.max() } }

    public struct Snapshot: Sendable {
        public var recordsIn: Int
        public var recordsRejected: Int
        public var recordsLate: Int
        public var recordsOut: Int
        public var backpressureWaits: Int
        public var watermark: Int64?
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            recordsIn: recordsIn.load(ordering: .relaxed),
            recordsRejected: recordsRejected.load(ordering: .relaxed),
            recordsLate: recordsLate.load(ordering: .relaxed),
            recordsOut: recordsOut.load(ordering: .relaxed),
            backpressureWaits: backpressureWaits.load(ordering: .relaxed),
            watermark: sourceWatermark
        )
    }

    /// The counters in Prometheus text exposition format.
    public func prometheusText(job: String) -> String {
        let s = snapshot()
        let label = "{job=\"\(job)\"}"
        var lines = [
            "kvstream_records_in_total\(label) \(s.recordsIn)",
            "kvstream_records_rejected_total\(label) \(s.recordsRejected)",
            "kvstream_records_late_total\(label) \(s.recordsLate)",
            "kvstream_records_out_total\(label) \(s.recordsOut)",
            "kvstream_backpressure_waits_total\(label) \(s.backpressureWaits)",
            "kvstream_checkpoints_completed_total\(label) \(checkpointsCompleted.load(ordering: .relaxed))",
            "kvstream_checkpoints_failed_total\(label) \(checkpointsFailed.load(ordering: .relaxed))",
        ]
        if let last = latestCheckpoint {
            lines.append("kvstream_checkpoint_last_duration_ms\(label) \(last.durationMillis)")
            lines.append("kvstream_checkpoint_last_size_bytes\(label) \(last.bytes)")
        }
        if let wm = s.watermark { lines.append("kvstream_watermark_ms\(label) \(wm)") }
        for (name, value) in named.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            lines.append("\(name)\(label) \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
