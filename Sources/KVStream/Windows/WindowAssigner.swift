/// Assigns each record to the event-time windows it belongs to.
public protocol WindowAssigner: Sendable {
    /// Calls `body` once for each window containing `timestamp`; no allocation per record.
    func forEachWindow(containing timestamp: Int64, _ body: (TimeWindow) -> Void)
    /// For windows of one key that merge when they come closer than this (session windows); nil otherwise.
    var mergingGap: TimeSpan? { get }
    /// A short description for `kvstream describe`.
    var description: String { get }
}

extension WindowAssigner {
    public var mergingGap: TimeSpan? { nil }
}

/// Fixed-size, non-overlapping windows: every record is in exactly one.
public struct TumblingWindows: WindowAssigner {
    public let size: TimeSpan
    public let offset: TimeSpan

    /// Windows of `size`, aligned to the epoch (so 1-day windows are UTC days) unless `offset` shifts them.
    public init(size: TimeSpan, offset: TimeSpan = .zero) {
        precondition(size.milliseconds > 0, "a window size must be positive")
        self.size = size
        self.offset = offset
    }

    public static func of(_ size: TimeSpan) -> TumblingWindows { TumblingWindows(size: size) }

    @inlinable
    public func forEachWindow(containing timestamp: Int64, _ body: (TimeWindow) -> Void) {
        let start = windowStart(timestamp, size: size.milliseconds, offset: offset.milliseconds)
        body(TimeWindow(start: start, end: start &+ size.milliseconds))
    }

    public var description: String { "tumbling \(size)" }
}

/// Fixed-size windows that start every `slide`: a record is in `size / slide` of them.
public struct SlidingWindows: WindowAssigner {
    public let size: TimeSpan
    public let slide: TimeSpan
    public let offset: TimeSpan

    public init(size: TimeSpan, slide: TimeSpan, offset: TimeSpan = .zero) {
        precondition(size.milliseconds > 0 && slide.milliseconds > 0, "window size and slide must be positive")
        self.size = size
        self.slide = slide
        self.offset = offset
    }

    public static func of(_ size: TimeSpan, every slide: TimeSpan) -> SlidingWindows {
        SlidingWindows(size: size, slide: slide)
    }

    @inlinable
    public func forEachWindow(containing timestamp: Int64, _ body: (TimeWindow) -> Void) {
        let last = windowStart(timestamp, size: slide.milliseconds, offset: offset.milliseconds)
        var start = last
        for _ in 0..<(size.milliseconds + slide.milliseconds - 1) / slide.milliseconds {
            guard start > timestamp &- size.milliseconds else { break }
            body(TimeWindow(start: start, end: start &+ size.milliseconds))
            start &-= slide.milliseconds
        }
    }

    public var description: String { "sliding \(size) every \(slide)" }
}

/// Windows per key that grow while records keep arriving within `gap` of each other.
public struct SessionWindows: WindowAssigner {
    public let gap: TimeSpan

    public init(gap: TimeSpan) {
        precondition(gap.milliseconds > 0, "a session gap must be positive")
        self.gap = gap
    }

    public static func withGap(_ gap: TimeSpan) -> SessionWindows { SessionWindows(gap: gap) }

    public func forEachWindow(containing timestamp: Int64, _ body: (TimeWindow) -> Void) {
        body(TimeWindow(start: timestamp, end: timestamp &+ gap.milliseconds))
    }

    public var mergingGap: TimeSpan? { gap }
    public var description: String { "session gap \(gap)" }
}
