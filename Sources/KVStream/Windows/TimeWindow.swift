/// A half-open span of event time `[start, end)`.
public struct TimeWindow: Sendable, Hashable, Comparable, BinaryCodable, CustomStringConvertible {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// The largest timestamp that belongs to the window; the window fires when the watermark reaches it.
    @inlinable public var maxTimestamp: Int64 { end &- 1 }

    public func intersects(_ other: TimeWindow) -> Bool { start <= other.end && other.start <= end }

    public func cover(_ other: TimeWindow) -> TimeWindow {
        TimeWindow(start: min(start, other.start), end: max(end, other.end))
    }

    public static func < (lhs: TimeWindow, rhs: TimeWindow) -> Bool {
        (lhs.end, lhs.start) < (rhs.end, rhs.start)
    }

    public func encode(to writer: inout BinaryWriter) {
        start.encode(to: &writer)
        end.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        start = try Int64(from: &reader)
        end = try Int64(from: &reader)
    }

    public var description: String { "[\(start), \(end))" }
}

/// The start of the window of `size` (shifted by `offset`) that contains `timestamp`, also for negative times.
///
/// Wrapping arithmetic: timestamps at the extremes of `Int64` (a record stamped with the minimum watermark, say)
/// give a window at the extreme instead of trapping.
@inlinable
func windowStart(_ timestamp: Int64, size: Int64, offset: Int64 = 0) -> Int64 {
    let remainder = (timestamp &- offset) % size
    return remainder < 0 ? timestamp &- remainder &- size : timestamp &- remainder
}
