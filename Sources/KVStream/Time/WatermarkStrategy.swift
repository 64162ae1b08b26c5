/// How a source derives watermarks from the timestamps it reads (per split, e.g. per Kafka partition).
public struct WatermarkStrategy: Sendable, Hashable {
    /// How far behind the largest timestamp seen the watermark trails.
    public var maxOutOfOrderness: TimeSpan
    /// A split that produced nothing for this long is marked idle, so it does not hold back the watermark.
    public var idleTimeout: TimeSpan?
    /// Watermarks advance in steps of this much event time.
    ///
    /// A source ends its batch right after a record that moves the watermark to a new step, and emits the
    /// watermark there. So the watermark a record meets downstream depends only on the records before it, never
    /// on how they were batched: whether a record is late is deterministic, at any parallelism. Coarser steps
    /// make larger batches; finer ones fire windows sooner.
    public var granularity: TimeSpan

    public init(
        maxOutOfOrderness: TimeSpan, idleTimeout: TimeSpan? = .seconds(30), granularity: TimeSpan = .seconds(1)
    ) {
        precondition(granularity.milliseconds > 0, "a watermark granularity must be positive")
        self.maxOutOfOrderness = maxOutOfOrderness
        self.idleTimeout = idleTimeout
        self.granularity = granularity
    }

    /// Bounded out-of-orderness: records may arrive up to `bound` late without being late.
    public static func boundedOutOfOrderness(
        _ bound: TimeSpan, idleTimeout: TimeSpan? = .seconds(30), granularity: TimeSpan = .seconds(1)
    ) -> Self {
        WatermarkStrategy(maxOutOfOrderness: bound, idleTimeout: idleTimeout, granularity: granularity)
    }
}

/// Tracks the watermark of one split under a ``WatermarkStrategy``.
public struct BoundedOutOfOrdernessGenerator: Sendable {
    public let strategy: WatermarkStrategy
    public internal(set) var maxTimestamp: Int64 = .min

    public init(strategy: WatermarkStrategy) { self.strategy = strategy }

    public mutating func observe(_ timestamp: Int64) {
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
    }

    /// The current watermark: `max timestamp - bound - 1` (Flink's convention: a record at exactly
    /// `max - bound` is still on time), rounded down to the strategy's granularity.
    public var currentWatermark: Int64 { watermark(forMaxTimestamp: maxTimestamp) }

    /// The watermark the split would have after seeing `maxTimestamp`.
    @inline(__always)
    public func watermark(forMaxTimestamp maxTimestamp: Int64) -> Int64 {
        guard maxTimestamp != .min else { return Watermark.minimum }
        let raw = maxTimestamp - strategy.maxOutOfOrderness.milliseconds - 1
        let step = strategy.granularity.milliseconds
        let remainder = raw % step
        return remainder < 0 ? raw - remainder - step : raw - remainder
    }
}
