/// A window's accumulator for one key, with whether it changed since it was last emitted early.
public struct WindowAccumulator<A: StateValue>: StateValue {
    public var accumulator: A
    public var dirty: Bool

    public init(accumulator: A, dirty: Bool) {
        self.accumulator = accumulator
        self.dirty = dirty
    }

    public func encode(to writer: inout BinaryWriter) {
        dirty.encode(to: &writer)
        accumulator.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        dirty = try Bool(from: &reader)
        accumulator = try A(from: &reader)
    }
}

/// When a window emits its result.
public struct WindowTrigger: Sendable, Hashable, CustomStringConvertible {
    /// Emit early results of changed windows this often (processing time), before the final one.
    public var earlyFiringInterval: TimeSpan?

    /// The final result when the watermark passes the window's end, and an update per late record within the
    /// allowed lateness (Flink's `EventTimeTrigger`).
    public static let eventTime = WindowTrigger(earlyFiringInterval: nil)

    /// As ``eventTime``, plus early results of windows that changed, every `interval` of processing time.
    public static func earlyFiring(every interval: TimeSpan) -> WindowTrigger {
        WindowTrigger(earlyFiringInterval: interval)
    }

    public var description: String {
        earlyFiringInterval.map { "event time, early every \($0)" } ?? "event time"
    }
}

/// How a window operator is configured (shared by the assigned and the merging variant).
public struct WindowSpec: Sendable {
    public var allowedLateness: TimeSpan = .zero
    public var trigger: WindowTrigger = .eventTime
    public var lateDataTag: String?
}

/// Where a window operator sends records that arrive after the allowed lateness: counted in
/// `kvstream_records_late_total`, and sent to the late-data side output when the job asked for one.
struct LateData<Element: Sendable> {
    private let port: SideOutput<LateRecord<Element>>?
    private let context: OperatorContext
    private var pending = 0

    init(spec: WindowSpec, context: OperatorContext) {
        port = spec.lateDataTag.flatMap { context.sideOutputs.port(OutputTag<LateRecord<Element>>($0)) }
        self.context = context
    }

    mutating func record(_ value: Element, timestamp: Int64, watermark: Int64) {
        pending += 1
        port?.emit(
            LateRecord(value: value, timestamp: timestamp, watermark: watermark, operatorName: context.operatorName),
            timestamp: timestamp)
    }

    /// Adds the records counted since the last call to the job's metrics (once per batch, not per record).
    mutating func count() {
        guard pending > 0 else { return }
        context.metrics.recordsLate.add(pending, ordering: .relaxed)
        pending = 0
    }
}
