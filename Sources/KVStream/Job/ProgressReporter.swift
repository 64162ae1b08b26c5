import Foundation

/// Prints a running job's progress to standard error: events/s, records in, rejected and late, the watermark
/// and how far it trails the newest event.
///
/// On a terminal the line is rewritten in place every second; otherwise a line is printed every 10 s so that
/// logs stay readable.
public final class ProgressReporter: Sendable {
    private let job: String
    private let metrics: JobMetrics
    private let interactive: Bool

    public init(job: String, metrics: JobMetrics) {
        self.job = job
        self.metrics = metrics
        interactive = isatty(STDERR_FILENO) != 0
    }

    /// Reports until the task is cancelled.
    public func run() async {
        let interval: Duration = interactive ? .seconds(1) : .seconds(10)
        var last = metrics.snapshot()
        var lastNanos = Clock.monotonicNanos()
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            let now = metrics.snapshot()
            let nanos = Clock.monotonicNanos()
            let rate = Double(now.recordsIn - last.recordsIn) / (Double(nanos - lastNanos) / 1e9)
            write(line(now, rate: rate), final: false)
            last = now
            lastNanos = nanos
        }
    }

    /// The last line, when the job ended.
    public func finish(elapsedSeconds: Double) {
        let s = metrics.snapshot()
        let rate = elapsedSeconds > 0 ? Double(s.recordsIn) / elapsedSeconds : 0
        write(line(s, rate: rate) + String(format: " | %.1fs", elapsedSeconds), final: true)
    }

    func line(_ s: JobMetrics.Snapshot, rate: Double) -> String {
        var parts = [
            "\(job): \(Self.count(Int(rate.rounded()))) events/s", "in \(Self.count(s.recordsIn))",
            "out \(Self.count(s.recordsOut))", "rejected \(Self.count(s.recordsRejected))",
            "late \(Self.count(s.recordsLate))",
        ]
        if let last = metrics.latestCheckpoint {
            let age = Double(Clock.nowMillis() - last.at) / 1000
            parts.append(String(format: "checkpoint %lld %.0fs ago (%lld ms)", last.id, age, last.durationMillis))
        }
        if let wm = s.watermark, wm > Watermark.minimum, wm < Watermark.endOfTime {
            var text = "watermark \(CivilTime.iso8601(epochMillis: wm))"
            if let newest = metrics.maxEventTime { text += String(format: " (lag %.1fs)", Double(newest - wm) / 1000) }
            parts.append(text)
        }
        return parts.joined(separator: " | ")
    }

    private func write(_ line: String, final: Bool) {
        let text = interactive ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func count(_ n: Int) -> String {
        var digits = Array(String(n))
        var i = digits.count - 3
        while i > 0 && digits[i - 1] != "-" {
            digits.insert(",", at: i)
            i -= 3
        }
        return String(digits)
    }
}
