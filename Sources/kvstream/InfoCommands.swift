import ArgumentParser
import Foundation
import KVStream
import KVStreamJobs
import Logging

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List the jobs.")

    func run() throws {
        let width = allJobs.map(\.name.count).max() ?? 0
        for job in allJobs {
            print(job.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + job.summary)
        }
    }
}

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Print a job's logical and physical graph.")

    @Argument(help: "The job to describe.")
    var job: String

    @Flag(help: "Print Graphviz instead of text.")
    var dot = false

    @OptionGroup var topologyOptions: TopologyOptions

    func run() throws {
        let definition = try resolveJob(job)
        let topology = try topologyOptions.load()
        let plan = try PhysicalPlan(
            graph: try definition.logicalGraph(), defaultParallelism: topology.parallelism(),
            maxParallelism: topology.maxParallelism())
        var description = PlanDescription(plan: plan)
        // Bindings are shown when the topology resolves; describe still works when a source file is missing.
        if let runner = try? JobRunner(
            plan: plan, topology: topology, connectors: try connectorRegistry(topology), options: JobRunOptions(),
            logger: Logger(label: "kvstream.describe"))
        {
            for node in plan.graph.nodes {
                if let source = runner.sourceBinding(of: node.id) { description.bindings[node.id] = source.summary }
                if let sink = runner.sinkConnector(of: node.id) { description.bindings[node.id] = sink.summary }
            }
        }
        print(dot ? description.dot() : description.text(), terminator: "")
    }
}

struct CheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints", abstract: "List a job's checkpoints.")

    @Argument var job: String
    @OptionGroup var topologyOptions: TopologyOptions

    func run() throws {
        let definition = try resolveJob(job)
        let topology = try topologyOptions.load()
        let storage = CheckpointStorage(directory: try topology.checkpointDirectory(), job: definition.name)
        let listings = storage.list()
        guard !listings.isEmpty else {
            print("no checkpoints of \(definition.name) under \(storage.root)")
            return
        }
        print("id".padding(toLength: 8, withPad: " ", startingAt: 0) + "completed (UTC)".padding(toLength: 26, withPad: " ", startingAt: 0)
              + "size".padding(toLength: 12, withPad: " ", startingAt: 0) + "tasks  state")
        for listing in listings {
            let id = String(listing.id).padding(toLength: 8, withPad: " ", startingAt: 0)
            guard let m = listing.metadata else {
                print(id + "-".padding(toLength: 26, withPad: " ", startingAt: 0) + "-".padding(toLength: 12, withPad: " ", startingAt: 0)
                      + "-      " + (listing.problem ?? "unusable"))
                continue
            }
            let when = CivilTime.iso8601(epochMillis: m.completedAt).padding(toLength: 26, withPad: " ", startingAt: 0)
            let size = Self.bytes(storage.size(m.checkpointID)).padding(toLength: 12, withPad: " ", startingAt: 0)
            let tasks = String(m.tasks.count).padding(toLength: 7, withPad: " ", startingAt: 0)
            print(id + when + size + tasks + (m.final ? "complete (final)" : "complete"))
        }
    }

    static func bytes(_ n: Int) -> String {
        n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / 1_048_576)
            : n >= 1 << 10 ? String(format: "%.1f KiB", Double(n) / 1024) : "\(n) B"
    }
}

struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker", abstract: "Start a development Kafka cluster on loopback.")

    @Option var brokers: Int = 1
    @Option var port: Int?
    @Option var topic: [String] = []

    func run() throws {
        throw UsageError("broker: not available in this build (it arrives with the Kafka connector issue)")
    }
}
