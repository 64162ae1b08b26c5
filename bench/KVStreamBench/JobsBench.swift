import Foundation
import KVStream
import KVStreamJobs
import KVStreamRocksDB
import Logging
import Synchronization

/// fraud-detection and realtime-aggregations whole, as `kvstream run` runs them on the generator (every operator,
/// exchanges, state backend, checkpoints), with in-memory sinks that make rows visible when checkpoints commit
/// (``VisibilityLog``): what the runtime costs, not PostgreSQL or Parquet.
///
/// Throughput: a bounded run as fast as possible, beside a job that only reads the same generator (its events
/// dropped by a filter) at the same parallelism. Latency: an endless run at half that throughput, where each traced
/// row's latency runs from the time its input was due at the source to the end of the commit that made it visible.
enum JobsBench {
    /// A job and what the benchmark knows of its output.
    struct Subject: Sendable {
        var job: JobDefinition
        var traces: [String: VisibilityLog.Trace]
        var tallies: [String: VisibilityLog.Tally] = [:]
        /// Why a bounded run over `events` payments went wrong, or nil.
        var problem: @Sendable (_ log: VisibilityLog, _ events: Int) -> String?
    }

    /// Every payment is either scored or too late (the generator's late events: 90 s to 10 min late).
    static let fraud = Subject(job: fraudDetection, traces: ["payments_scored": .eventID]) { log, events in
        let scored = log.rows("payments_scored")
        let late = log.rows("late_events")
        return scored + late == events ? nil : "\(scored) scored + \(late) too late payments, not \(events)"
    }

    /// Every payment is counted in `sales_per_minute` (the last value of each row: late payments within the allowed
    /// lateness update rows already written), or too late for its window there.
    static let aggregations = Subject(
        job: realtimeAggregations,
        traces: ["sales_per_minute": .windowEnd(column: "window_start", plusMillis: 60_000),
                 "merchant_activity": .windowEnd(column: "window_end", plusMillis: 0)],
        tallies: ["sales_per_minute": .init(value: "tx_count", key: ["window_start", "channel", "country"]),
                  "late_events": .init(value: nil, key: ["operator"])]
    ) { log, events in
        let counted = Int(log.tally("sales_per_minute").values.reduce(0, +))
        let late = log.tally("late_events")
        let lateSales = Int(late["sales_per_minute"] ?? 0)
        return counted + lateSales == events
            ? nil : "\(counted) payments in sales_per_minute + \(lateSales) too late for it (late rows: \(late)), not \(events)"
    }

    /// The generator alone: every event read, stamped and watermarked, then dropped.
    static let sourceOnly = Subject(
        job: JobDefinition(name: "bench-source-only", summary: "") { job in
            job.source("payments", paymentEvents, watermarks: paymentWatermarks)
                .filter("drop") { _ in false }
                .map("rows") { _ in NoRow() }
                .sink("lake", table: "nothing")
        },
        traces: [:]
    ) { _, _ in nil }

    /// How the source runs.
    struct Generator {
        /// Events in all; nil for an endless source.
        var count: Int?
        /// Events per second of wall-clock time in all; nil for as fast as possible.
        var rate: Double?
        /// Spacing of event time (the generator's default: `rate`, event time then moves like the clock).
        var eventsPerSecond: Double
        var startMillis: Int64 = 1_767_225_600_000
    }

    struct Run {
        var seconds: Double
        var log: VisibilityLog
        var recordsIn: Int
        /// When the generator started, and when the stop was requested (monotonic nanoseconds).
        var generatorStart: UInt64?
        var stopRequested: UInt64?
    }

    /// Runs `subject` once; an endless run is stopped (as SIGTERM does: a final checkpoint) after `stopAfter`.
    static func run(
        _ subject: Subject, parallelism: Int, backend: String, checkpointInterval: String, generator: Generator,
        stopAfter: Duration? = nil
    ) async throws -> Run {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-bench-jobs-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let toml = """
            [job]
            parallelism = \(parallelism)
            [checkpoint]
            interval = "\(checkpointInterval)"
            dir = "\(scratch)/checkpoints"
            retained = 2
            [state]
            backend = "\(backend)"
            dir = "\(scratch)/state"
            cache_entries = 1000000
            [sources.payments]
            type = "generator"
            splits = \(parallelism)
            rate = \(generator.rate ?? 0)
            \(generator.count.map { "count = \($0)" } ?? "")
            seed = 42
            customers = 2000000
            fraud_ratio = 0.002
            events_per_second = \(generator.eventsPerSecond)
            start_millis = \(generator.startMillis)
            [sinks.postgres]
            type = "bench"
            [sinks.lake]
            type = "bench"
            """
        let settings = try Settings.parse(toml: toml, origin: "bench topology")
        let topology = Topology(settings: settings, origin: "bench")
        let log = VisibilityLog(
            traces: subject.traces, tallies: subject.tallies,
            pace: generator.rate.map { VisibilityLog.Pace(rate: $0, startMillis: generator.startMillis) })
        var connectors = ConnectorRegistry()
        connectors.registerStateStore(type: "rocksdb", RocksDBStateStore.factory(blockCacheMegabytes: 256))
        connectors.registerSink(type: "bench") { name, _, _ in VisibilitySinkConnector(name: name, log: log) }
        let plan = try PhysicalPlan(
            graph: try subject.job.logicalGraph(settings: settings), defaultParallelism: try topology.parallelism(),
            maxParallelism: try topology.maxParallelism())
        var options = JobRunOptions()
        options.bounded = generator.count != nil
        options.restore = .none
        var logger = Logger(label: "kvstream.bench")
        logger.logLevel = .error
        let runner = try JobRunner(plan: plan, topology: topology, connectors: connectors, options: options,
                                   logger: logger)
        let start = Clock.monotonicNanos()
        let watcher = generator.rate.map { GeneratorStart(runner.metrics, rate: $0) }
        let stopper = stopAfter.map { duration in
            Task.detached {
                try? await Task.sleep(for: duration)
                let stopped = Clock.monotonicNanos()
                runner.stop.request()
                return stopped
            }
        }
        defer { stopper?.cancel() }
        do {
            try await runner.run()
        } catch {
            _ = watcher?.stop()
            throw error
        }
        let seconds = Double(Clock.monotonicNanos() - start) / 1e9
        return Run(seconds: seconds, log: log, recordsIn: runner.metrics.recordsIn.load(ordering: .relaxed),
                   generatorStart: watcher?.stop(), stopRequested: await stopper?.value)
    }

    struct Latency {
        /// nil when no traced row was made visible before the stop (a job that fell far behind its offered rate).
        var percentiles: (p50Millis: Double, p99Millis: Double)?
        var rows: Int
        /// Rows of the same inputs that only the final checkpoint, after the stop, made visible (not counted).
        var afterStop: Int
        /// Events read per second from the start to the stop.
        var sustained: Double
    }

    /// The traced rows of an endless run at `rate`, stopped after `total`: those whose input was due between
    /// `from` and `until` after the generator started, and made visible by a commit before the stop.
    static func latency(
        _ subject: Subject, parallelism: Int, backend: String, rate: Double,
        total: Duration = .seconds(20), from: Duration = .seconds(3), until: Duration = .seconds(10)
    ) async throws -> Latency {
        // A 5-minute boundary of event time (a window end of both realtime-aggregations tables) 5 s into the run.
        let boundary: Int64 = 1_767_225_600_000 + 300_000
        let run = try await run(
            subject, parallelism: parallelism, backend: backend, checkpointInterval: "1s",
            generator: Generator(rate: rate, eventsPerSecond: rate, startMillis: boundary - 5_000), stopAfter: total)
        guard let start = run.generatorStart, let stop = run.stopRequested else {
            throw BenchError("\(subject.job.name): the generator never started")
        }
        func nanos(_ d: Duration) -> Int64 { d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000 }
        let window = nanos(from)...nanos(until)
        var latencies: [Int64] = []
        var afterStop = 0
        for commit in run.log.committed {
            for due in commit.due where window.contains(due) {
                if commit.nanos <= stop {
                    latencies.append(Int64(commit.nanos) - Int64(start) - due)
                } else {
                    afterStop += 1
                }
            }
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[Int((p * Double(latencies.count - 1)).rounded())]) / 1e6
        }
        return Latency(percentiles: latencies.isEmpty ? nil : (percentile(0.5), percentile(0.99)), rows: latencies.count,
                       afterStop: afterStop, sustained: Double(run.recordsIn) / (Double(stop - start) / 1e9))
    }

    /// The `make bench` lines: both jobs at parallelism 1 and 2, memory and RocksDB state, each one's throughput on
    /// `events` payments (`fraudEvents` for fraud-detection, which is much slower), then its latency at half that.
    /// `only` names one job to run alone.
    static func report(events: Int, fraudEvents: Int, only: String?) async throws {
        // Checkpoints every second in both runs, so that half the throughput is a rate the latency run sustains.
        let interval = "1s"
        var baselines: [String: Double] = [:]
        for parallelism in [1, 2] {
            for (subject, count) in [(fraud, fraudEvents), (aggregations, events)]
            where only == nil || only == subject.job.name {
                // A backlog as the local topology produces it: 2,000 payments per second of event time.
                let bounded = Generator(count: count, rate: nil, eventsPerSecond: 2_000)
                let key = "\(parallelism)/\(count)"
                if baselines[key] == nil {
                    baselines[key] = try await run(sourceOnly, parallelism: parallelism, backend: "memory",
                                                   checkpointInterval: interval, generator: bounded).seconds
                }
                for backend in ["memory", "rocksdb"] {
                    let name = "\(subject.job.name), generator -> in-memory sinks, "
                        + "\(backend == "memory" ? "memory" : "RocksDB") state, checkpoints every \(interval), p=\(parallelism)"
                    let run = try await run(subject, parallelism: parallelism, backend: backend,
                                            checkpointInterval: interval, generator: bounded)
                    if let problem = subject.problem(run.log, count) {
                        throw BenchError("\(subject.job.name) p=\(parallelism) \(backend): \(problem)")
                    }
                    Bench.report(name, events: count, seconds: run.seconds, baseline: baselines[key]!,
                                 baselineName: "source only")
                    let rate = (Double(count) / run.seconds / 2).rounded()
                    let latency = try await latency(subject, parallelism: parallelism, backend: backend, rate: rate)
                    // A job far behind its offered rate may make no traced row visible before the stop: a line
                    // that says so, not an error that ends the benchmark.
                    let percentiles = latency.percentiles.map {
                        String(format: "p50 %.0f ms, p99 %.0f ms", $0.p50Millis, $0.p99Millis)
                    } ?? "no traced row visible before the stop"
                    print(String(
                        format: "%@, latency from ingestion to visible commit: %@ "
                            + "(at %d events/s, half the throughput above; %d events/s sustained, %d rows%@)",
                        name, percentiles, Int(rate), Int(latency.sustained), latency.rows,
                        latency.afterStop > 0 ? ", \(latency.afterStop) more visible only after the stop" : ""))
                    fflush(nil)
                }
            }
        }
    }
}

/// The row of a sink that never receives any.
struct NoRow: SinkRow {
    static let schema = TableSchema(columns: [Column("nothing", .int64)])
    func encode<E: RowEncoder>(to encoder: inout E) { encoder.int64(0) }
}

/// When the generator started, from the count of records it emitted, watched from a thread of its own (the job
/// keeps the cooperative pool busy): it never runs ahead of its rate, so every sample of `t - records(t) / rate`
/// is at or after its start, and the smallest (taken while it was on schedule) is its start.
private final class GeneratorStart: Sendable {
    private let earliest = Atomic<UInt64>(.max)
    private let stopped = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(_ metrics: JobMetrics, rate: Double) {
        Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                // The count first: records(then) <= rate * (then - start) <= rate * (now - start).
                let records = metrics.recordsIn.load(ordering: .relaxed)
                let now = Clock.monotonicNanos()
                if records > 0 {
                    let start = now - UInt64(Double(records) / rate * 1e9)
                    if start < earliest.load(ordering: .relaxed) { earliest.store(start, ordering: .relaxed) }
                }
                usleep(500)
            }
            exited.signal()
        }.start()
    }

    /// Stops watching; the start, if any record was seen.
    func stop() -> UInt64? {
        stopped.store(true, ordering: .relaxed)
        exited.wait()
        let start = earliest.load(ordering: .relaxed)
        return start == .max ? nil : start
    }
}
