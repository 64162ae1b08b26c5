/// Reads one split of a generator source, at a configured rate, up to an optional count.
final class GeneratorSplitReader<Element: Sendable>: SplitReader {
    let splitID: String
    private let generator: GeneratorFunction<Element>
    private let limit: Int?
    private let rate: Double?
    private var produced = 0
    private var startNanos = Clock.monotonicNanos()

    /// - Parameters:
    ///   - limit: records to produce before the split ends; nil for an endless split.
    ///   - rate: records per second of wall-clock time for this split; nil for as fast as possible.
    init(splitID: String, generator: GeneratorFunction<Element>, limit: Int?, rate: Double?) {
        self.splitID = splitID
        self.generator = generator
        self.limit = limit
        self.rate = rate
    }

    func poll(into batch: inout RecordBatch<Element>, rejects: inout [RejectedRecord], max: Int) throws -> PollStatus {
        var count = max
        if let limit {
            guard produced < limit else { return .ended }
            count = min(count, limit - produced)
        }
        if let rate, rate > 0 {
            let elapsed = Double(Clock.monotonicNanos() - startNanos) / 1e9
            let allowed = Int(elapsed * rate) - produced
            guard allowed > 0 else { return .waiting }
            count = min(count, allowed)
        }
        generator.generate(&batch, count)
        produced += count
        return .more
    }

    var position: SplitPosition { SplitPosition(offset: 0, records: Int64(produced)) }

    func seek(to position: SplitPosition) throws {
        let target = Int(position.records)
        guard target >= produced else { throw ConnectorError("\(splitID): cannot seek backwards") }
        generator.skip(target - produced)
        produced = target
        // The rate counts from the resume: records before it were produced by an earlier run.
        startNanos = Clock.monotonicNanos() - UInt64(Double(produced) / max(rate ?? .infinity, 1) * 1e9)
    }

    func close() {}
}
