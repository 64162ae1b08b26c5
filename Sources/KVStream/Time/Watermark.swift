/// Event-time constants and helpers.
public enum Watermark {
    /// The watermark before any record: everything is on time.
    public static let minimum = Int64.min
    /// The end of time: all event-time windows and timers fire.
    public static let endOfTime = Int64.max
}

/// A span of time, in milliseconds, for the DSL (`.minutes(1)`, `.seconds(60)`).
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func milliseconds(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value) }
    public static func seconds(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 1_000) }
    public static func minutes(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 60_000) }
    public static func hours(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 3_600_000) }
    public static func days(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 86_400_000) }
    public static let zero = TimeSpan(milliseconds: 0)

    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String {
        let ms = milliseconds
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("min", 60_000), ("s", 1_000)]
        where ms >= size && ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
