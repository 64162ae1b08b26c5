import Foundation
import KVStream
import KVStreamLake
import KVStreamPayments
import KVStreamTesting

/// `make bench`: throughput of the runtime beside a plain single-threaded Swift loop computing the same result
/// in the same process (machines here are noisy: compare ratios, not absolute figures across runs).
///
/// Prints one line per benchmark: `<name>: <events/s> events/s (<ratio>x <baseline name>)`.
@main
struct Bench {
    /// ", 1 core" when the process may run on one CPU only (`taskset -c 0`, as `make bench` does for the
    /// one-core figures), read from the kernel rather than trusted from a flag.
    static let cores: String = {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return "" }
        let list = line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
        return list.contains(",") || list.contains("-") ? "" : ", 1 core"
    }()

    static func main() async throws {
        _ = cores
        let only = ProcessInfo.processInfo.environment["BENCH_ONLY"] ?? ""
        let requested = Int(ProcessInfo.processInfo.environment["BENCH_EVENTS"] ?? "") ?? 5_000_000
        let count = only == "hash" || only == "jobs" ? 0 : requested
        let repeats = Int(ProcessInfo.processInfo.environment["BENCH_REPEATS"] ?? "") ?? 3
        FileHandle.standardError.write(Data("generating \(count) payments over 100k customers...\n".utf8))
        let events = BenchData.payments(count: count, customers: 100_000)

        let parallelisms = cores.isEmpty ? [1, 2] : [1]
        if only.isEmpty || only == "stateless" { try await stateless(events, repeats: repeats, parallelisms) }
        if only.isEmpty || only == "tumbling" { try await tumbling(events, repeats: repeats, parallelisms) }
        if only.isEmpty || only == "rocksdb" { try await rocksdb(events, repeats: repeats, parallelisms) }
        if only == "spill" { try await spill() }
        if (only.isEmpty && !cores.isEmpty) || only == "decode" {
            try DecodeBench.run(events, repeats: repeats)
        }
        if (only.isEmpty || only == "checkpoint") && cores.isEmpty { try checkpoint() }
        if (only.isEmpty && !cores.isEmpty) || only == "hash" { try HashBench.run(repeats: repeats) }
        if (only.isEmpty || only == "kafka") && cores.isEmpty { try await kafka(events, repeats: repeats, parallelisms) }
        if (only.isEmpty || only == "postgres") && cores.isEmpty { try postgres() }
        if only.isEmpty || only == "parquet" { try parquet(events, repeats: repeats) }
        if (only.isEmpty || only == "jobs") && cores.isEmpty {
            let env = ProcessInfo.processInfo.environment
            try await JobsBench.report(
                events: Int(env["BENCH_JOBS_EVENTS"] ?? "") ?? 1_000_000,
                fraudEvents: Int(env["BENCH_JOBS_FRAUD_EVENTS"] ?? "") ?? 250_000, only: env["BENCH_JOBS"])
        }
    }

    /// Our Parquet writer beside pyarrow's on the same rows, in the same run (see ``ParquetBench``).
    static func parquet(_ events: [(value: Payment, timestamp: Int64)], repeats: Int) throws {
        let count = min(events.count, Int(ProcessInfo.processInfo.environment["BENCH_PARQUET_ROWS"] ?? "") ?? 1_000_000)
        try ParquetBench.run(events.prefix(count), repeats: repeats, cores: cores)
    }

    /// The topic holds the first `BENCH_KAFKA_EVENTS` (2M) events. Each run reads all of it: the raw consumer,
    /// then the job at each parallelism; rates are the best of `repeats` runs, each counted from the first message.
    static func kafka(_ events: [(value: Payment, timestamp: Int64)], repeats: Int, _ parallelisms: [Int])
        async throws
    {
        let count = min(events.count, Int(ProcessInfo.processInfo.environment["BENCH_KAFKA_EVENTS"] ?? "") ?? 2_000_000)
        FileHandle.standardError.write(Data("producing \(count) payments to a mock Kafka cluster...\n".utf8))
        let topic = try KafkaBench.produce(events[..<count])
        let expected = TumblingBench.baseline(Array(events[..<count]))
        var raw: KafkaBench.Figures?
        for _ in 0..<repeats {
            let run = try await KafkaBench.rawConsume(topic)
            if raw == nil || run.rate > raw!.rate { raw = run }
        }
        for parallelism in parallelisms {
            var best: KafkaBench.Figures?
            for _ in 0..<repeats {
                let run = try await KafkaBench.runJob(topic, parallelism: parallelism)
                try check(run.result == expected, "kafka p=\(parallelism)", run.result, expected)
                if best == nil || run.figures.rate > best!.rate { best = run.figures }
            }
            report("kafka (\(topic.partitions) partitions) -> keyBy customer + 1-min tumbling count/sum -> discard, "
                   + "memory state, p=\(parallelism)", rate: best!.rate, baseline: raw!.rate,
                   baselineName: "librdkafka consumer")
            print(String(format: "kafka first message, p=%d: after %.3f s (librdkafka consumer: %.3f s), not in the rates",
                         parallelism, best!.startSeconds, raw!.startSeconds))
            print(String(format: "kafka CPU per message (whole process, broker included), p=%d: %.2f us "
                         + "(librdkafka consumer: %.2f us)", parallelism, best!.cpuMicrosPerMessage,
                         raw!.cpuMicrosPerMessage))
        }
    }

    static func rocksdb(_ events: [(value: Payment, timestamp: Int64)], repeats: Int, _ parallelisms: [Int])
        async throws
    {
        let count = events.count
        for parallelism in parallelisms {
            let memory = try await measureAsync(repeats) { try await TumblingBench.job(events, parallelism: parallelism) }
            let run = try await measureAsync(repeats) {
                try await StateBench.tumblingOnRocksDB(events, parallelism: parallelism, cacheEntries: 1_000_000)
            }
            try check(run.result == memory.result, "rocksdb p=\(parallelism)", run.result, memory.result)
            report("keyBy customer + 1-min tumbling count/sum, RocksDB state, checkpoints every 1s, "
                   + "p=\(parallelism)\(cores)", events: count, seconds: run.seconds, baseline: memory.seconds,
                   baselineName: "memory state")
        }
        try await spill()
    }

    static func spill() async throws {
        // State larger than the cache: 2M keys against 100k cached entries, on a smaller input (every record
        // misses the cache and reads RocksDB, so this is the store's speed, not the cache's).
        let count = Int(ProcessInfo.processInfo.environment["BENCH_SPILL_EVENTS"] ?? "") ?? 2_000_000
        let spill = BenchData.payments(count: count, customers: 2_000_000, eventsPerSecond: 100_000)
        let memory = try await measureAsync(1) { try await TumblingBench.job(spill, parallelism: 1) }
        let run = try await measureAsync(1) {
            try await StateBench.tumblingOnRocksDB(spill, parallelism: 1, cacheEntries: 100_000)
        }
        try check(run.result == memory.result, "rocksdb spill", run.result, memory.result)
        report("keyBy customer + 1-min tumbling count/sum, 2M keys, RocksDB state behind a 100k-entry cache, p=1\(cores)",
               events: spill.count, seconds: run.seconds, baseline: memory.seconds, baselineName: "memory state")
    }

    static func checkpoint() throws {
        let keys = 1_000_000
        let f = try StateBench.checkpoints(keys: keys)
        func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / 1_048_576) }
        print(String(format: "checkpoint of 1M keys in RocksDB, full: %.3f s, %@", f.fullSeconds, mib(f.fullBytes)))
        print(String(format: "checkpoint of 1M keys in RocksDB, incremental (1%% changed): %.3f s, %@ new", f.incrementalSeconds,
                     mib(f.incrementalNewBytes)))
        print(String(format: "restore of 1M keys from a RocksDB checkpoint: %.3f s (%d keys/s)", f.restoreSeconds,
                     Int(Double(keys) / f.restoreSeconds)))
        fflush(nil)
    }

    static func stateless(_ events: [(value: Payment, timestamp: Int64)], repeats: Int, _ parallelisms: [Int])
        async throws
    {
        let count = events.count
        let statelessBaseline = try measure(repeats) { StatelessBench.baseline(events) }
        for parallelism in parallelisms {
            let run = try await measureAsync(repeats) { try await StatelessBench.job(events, parallelism: parallelism) }
            try check(run.result == statelessBaseline.result, "stateless p=\(parallelism)", run.result, statelessBaseline.result)
            report("stateless map/filter, p=\(parallelism)\(cores)", events: count, seconds: run.seconds,
                   baseline: statelessBaseline.seconds, baselineName: "plain loop")
        }

    }

    static func tumbling(_ events: [(value: Payment, timestamp: Int64)], repeats: Int, _ parallelisms: [Int])
        async throws
    {
        let count = events.count
        let windowBaseline = try measure(repeats) { TumblingBench.baseline(events) }
        for parallelism in parallelisms {
            let run = try await measureAsync(repeats) { try await TumblingBench.job(events, parallelism: parallelism) }
            try check(run.result == windowBaseline.result, "tumbling p=\(parallelism)", run.result, windowBaseline.result)
            report("keyBy customer + 1-min tumbling count/sum, memory state, p=\(parallelism)\(cores)", events: count,
                   seconds: run.seconds, baseline: windowBaseline.seconds, baselineName: "plain loop")
        }
    }

    static func report(_ name: String, events: Int, seconds: Double, baseline: Double, baselineName: String) {
        report(name, rate: Double(events) / seconds, baseline: Double(events) / baseline, baselineName: baselineName)
    }

    static func report(_ name: String, rate: Double, baseline: Double, baselineName: String) {
        print("\(name): \(Int(rate.rounded())) events/s (\(String(format: "%.2f", rate / baseline))x \(baselineName), "
              + "\(Int(baseline.rounded())) events/s)")
        fflush(nil)
    }

    /// CPU time used so far by every thread of this process, in seconds.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func check<R: Equatable>(_ ok: Bool, _ name: String, _ got: R, _ expected: R) throws {
        guard ok else { throw BenchError("\(name): result \(got) differs from the baseline's \(expected)") }
    }

    /// Best of `repeats` runs.
    static func measure<R>(_ repeats: Int, _ body: () throws -> R) throws -> (result: R, seconds: Double) {
        var best: (R, Double)?
        for _ in 0..<repeats {
            let start = Clock.monotonicNanos()
            let result = try body()
            let seconds = Double(Clock.monotonicNanos() - start) / 1e9
            if best == nil || seconds < best!.1 { best = (result, seconds) }
        }
        return best!
    }

    static func measureAsync<R: Sendable>(
        _ repeats: Int, _ body: @Sendable () async throws -> R
    ) async throws -> (result: R, seconds: Double) {
        var best: (R, Double)?
        for _ in 0..<repeats {
            let start = Clock.monotonicNanos()
            let result = try await body()
            let seconds = Double(Clock.monotonicNanos() - start) / 1e9
            if best == nil || seconds < best!.1 { best = (result, seconds) }
        }
        return best!
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum BenchData {
    /// Generated payments, in order but for up to 4 s of out-of-orderness (no late ones, so every record counts
    /// and the baseline needs no watermark logic).
    static func payments(count: Int, customers: Int, eventsPerSecond: Double = 1_000) -> [(value: Payment, timestamp: Int64)] {
        let config = PaymentGeneratorConfig(
            seed: 1, customers: customers, merchants: 2_000, eventsPerSecond: eventsPerSecond, outOfOrderRatio: 0.05,
            lateRatio: 0)
        let generator = PaymentGenerator(config: config)
        var events: [(value: Payment, timestamp: Int64)] = []
        events.reserveCapacity(count)
        for i in 0..<count {
            let p = generator.payment(at: UInt64(i))
            events.append((p, p.ts))
        }
        return events
    }

    static func topology(parallelism: Int, count: Int) -> String {
        """
        [job]
        parallelism = \(parallelism)
        [sources.payments]
        type = "generator"
        count = \(count)
        splits = \(parallelism)
        [sinks.out]
        type = "memory"
        """
    }
}
