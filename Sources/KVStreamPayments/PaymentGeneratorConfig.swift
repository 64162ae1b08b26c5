/// What the synthetic payment generator produces; the sequence depends on nothing else.
public struct PaymentGeneratorConfig: Sendable, Hashable {
    /// Two generators with the same configuration produce the same events; any other seed gives other events.
    public var seed: UInt64 = 42
    /// Distinct customers (`c000000`, `c000001`, ...); a few of them are much more active than the rest.
    public var customers: Int = 10_000
    /// Distinct merchants (`m0000`, ...), split between the services; a few of each are much more popular.
    public var merchants: Int = 500
    /// Event time of the first event, epoch milliseconds (default 2026-01-01T00:00:00Z).
    public var startMillis: Int64 = 1_767_225_600_000
    /// Event-time spacing of consecutive events, in events per second of event time (not a wall-clock rate).
    public var eventsPerSecond: Double = 1000
    /// Fraction of events moved back in event time by 1 to 4,000 ms: out of order, but never by more than
    /// 4 s behind any event before them, so always within the SPEC's 5 s bounded out-of-orderness.
    public var outOfOrderRatio: Double = 0.05
    /// Fraction of events moved back by 90 s to 10 min behind the event before them: always clearly later
    /// than 5 s of out-of-orderness plus 60 s of allowed lateness.
    public var lateRatio: Double = 0.002
    /// Fraction of lines that ``PaymentLineGenerator`` makes invalid; ``PaymentGenerator`` ignores it.
    public var invalidRatio: Double = 0
    /// Fraction of events that are injected fraud (as many decoy episodes come on top); see ``FraudSchedule``.
    /// At most ``maxFraudRatio``. 0 leaves the normal sequence untouched.
    public var fraudRatio: Double = 0

    /// The largest ``fraudRatio``: every 10-second lane of event time holding an episode.
    public static let maxFraudRatio = FraudSchedule.maxRatio

    public init(
        seed: UInt64 = 42, customers: Int = 10_000, merchants: Int = 500, startMillis: Int64 = 1_767_225_600_000,
        eventsPerSecond: Double = 1000, outOfOrderRatio: Double = 0.05, lateRatio: Double = 0.002,
        invalidRatio: Double = 0, fraudRatio: Double = 0
    ) {
        self.seed = seed
        self.customers = customers
        self.merchants = merchants
        self.startMillis = startMillis
        self.eventsPerSecond = eventsPerSecond
        self.outOfOrderRatio = outOfOrderRatio
        self.lateRatio = lateRatio
        self.invalidRatio = invalidRatio
        self.fraudRatio = fraudRatio
    }

    /// Why this configuration cannot be used, or nil when it can: for the command line to report (exit 2).
    public var problem: String? {
        if customers < 1 { return "customers must be at least 1" }
        if merchants < 1 { return "merchants must be at least 1" }
        if startMillis < 1 { return "startMillis must be > 0" }
        if !(eventsPerSecond > 0 && eventsPerSecond.isFinite) { return "eventsPerSecond must be > 0" }
        for (name, ratio) in [
            ("outOfOrderRatio", outOfOrderRatio), ("lateRatio", lateRatio),
            ("invalidRatio", invalidRatio),
        ] where !(ratio >= 0 && ratio <= 1) {
            return "\(name) must be within [0, 1]"
        }
        if outOfOrderRatio + lateRatio > 1 { return "outOfOrderRatio + lateRatio must be at most 1" }
        if !(fraudRatio >= 0 && fraudRatio <= Self.maxFraudRatio) {
            return "fraudRatio must be within [0, \((Self.maxFraudRatio * 10_000).rounded(.down) / 10_000)]"
        }
        return nil
    }
}
