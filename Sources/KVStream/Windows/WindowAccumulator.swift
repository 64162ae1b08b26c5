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
