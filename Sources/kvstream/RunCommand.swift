import ArgumentParser
import Foundation
import KVStream
import KVStreamKafka
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job until its bounded input ends or it is stopped with SIGINT/SIGTERM."
    )

    @Argument(help: "The job to run (kvstream jobs lists them).")
    var job: String

    @OptionGroup var topologyOptions: TopologyOptions

    @Flag(help: "Read every source up to the end it had at start, fire all windows, then exit 0.")
    var bounded = false

    @Option(name: .customLong("from-checkpoint"),
            help: "Resume from the newest complete checkpoint (latest), start over (none), or a checkpoint directory.")
    var fromCheckpoint: String = "latest"

    func run() async throws {
        let definition = try resolveJob(job)
        let topology = try topologyOptions.load()
        let restore: RestoreMode = switch fromCheckpoint {
        case "latest": .latest
        case "none": .none
        default: .path(fromCheckpoint)
        }
        if case .path(let path) = restore, !FileManager.default.fileExists(atPath: path) {
            throw UsageError("--from-checkpoint \(path): no such checkpoint directory (kvstream checkpoints \(job) lists them)")
        }
        let graph = try definition.logicalGraph(settings: topology.settings)
        let plan = try PhysicalPlan(
            graph: graph, defaultParallelism: topology.parallelism(), maxParallelism: topology.maxParallelism())
        var options = JobRunOptions()
        options.bounded = bounded
        options.restore = restore
        let logger = Logger(label: "kvstream.\(definition.name)")
        let connectors = try connectorRegistry(topology, job: definition.name)
        let metrics = JobMetrics()
        let stop = StopSignal()
        // A Kafka source brings its consumer group: the job then runs per input partition where it can.
        let run: @Sendable () async throws -> Void
        if try KafkaJobRun.kafkaSource(of: graph, topology: topology) != nil {
            let kafka = try KafkaJobRun(plan: plan, topology: topology, connectors: connectors, options: options,
                                        metrics: metrics, stop: stop, logger: logger)
            run = { try await kafka.run() }
        } else {
            let runner = try JobRunner(plan: plan, topology: topology, connectors: connectors, options: options,
                                       metrics: metrics, stop: stop, logger: logger)
            run = { try await runner.run() }
        }
        let instances = plan.tasks.reduce(0) { $0 + $1.parallelism }
        logger.info(
            "starting \(definition.name) from \(topology.origin): \(plan.tasks.count) tasks, \(instances) instances\(bounded ? ", bounded" : "")")
        SignalHandling.install(stop: stop)
        let reporter = ProgressReporter(job: definition.name, metrics: metrics)
        let progress = Task.detached { await reporter.run() }
        let start = Clock.monotonicNanos()
        do {
            try await run()
        } catch let error as ConfigError {
            progress.cancel()
            throw error  // a configuration problem found while restoring: exit 2
        } catch {
            progress.cancel()
            throw RuntimeFailure("job \(definition.name) failed: \(error)")
        }
        progress.cancel()
        reporter.finish(elapsedSeconds: Double(Clock.monotonicNanos() - start) / 1e9)
    }
}
