import ArgumentParser
import Foundation
import KVStream
import KVStreamKafka
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
            graph: try definition.logicalGraph(settings: topology.settings), defaultParallelism: topology.parallelism(),
            maxParallelism: topology.maxParallelism())
        var description = PlanDescription(plan: plan)
        // Bindings are shown when the topology resolves; describe still works when a source file is missing.
        let kafka = try? KafkaJobRun.describedBindings(graph: plan.graph, topology: topology)
        if let runner = try? JobRunner(
            plan: plan, topology: topology, connectors: try connectorRegistry(topology, job: definition.name), options: JobRunOptions(),
            logger: Logger(label: "kvstream.describe"), sourceBindings: kafka ?? [:])
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
        // A job run per Kafka partition keeps its checkpoints per partition: <dir>/<job>/p<N>/.
        let scopes = ((try? FileManager.default.contentsOfDirectory(atPath: storage.root)) ?? [])
            .filter { $0.hasPrefix("p") && Int($0.dropFirst()) != nil }.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! }
        if storage.list().isEmpty && !scopes.isEmpty {
            for scope in scopes {
                print("partition \(scope.dropFirst()):")
                Self.list(CheckpointStorage(directory: try topology.checkpointDirectory(), job: definition.name + "/" + scope))
            }
            return
        }
        guard !storage.list().isEmpty else {
            print("no checkpoints of \(definition.name) under \(storage.root)")
            return
        }
        Self.list(storage)
    }

    static func list(_ storage: CheckpointStorage) {
        let listings = storage.list()
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

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Start a development Kafka cluster on loopback (librdkafka's mock cluster) until stopped.",
        discussion: "Prints the bootstrap address on the first line of standard output. Messages live in memory.")

    @Option(help: "Brokers in the cluster.") var brokers: Int = 1
    @Option(help: "Not supported: librdkafka 2.0's mock cluster chooses its ports (use the printed address).")
    var port: Int?
    @Option(help: "A topic to create, NAME:PARTITIONS (repeatable).") var topic: [String] = []

    func run() async throws {
        guard (1...16).contains(brokers) else { throw UsageError("broker: --brokers must be between 1 and 16") }
        if port != nil {
            throw UsageError(
                "broker: --port is not supported by librdkafka 2.0's mock cluster, which picks its own ports; use the address it prints")
        }
        var topics: [(String, Int)] = []
        for spec in topic {
            let parts = spec.split(separator: ":")
            guard parts.count == 2, !parts[0].isEmpty, let n = Int(parts[1]), n >= 1 else {
                throw UsageError("broker: --topic \(spec): expected NAME:PARTITIONS, e.g. payments:6")
            }
            topics.append((String(parts[0]), n))
        }
        let cluster = try MockCluster(brokers: brokers)
        for (name, partitions) in topics {
            try cluster.createTopic(name, partitions: partitions, replication: min(brokers, 3))
        }
        FileHandle.standardOutput.write(Data((cluster.bootstrap + "\n").utf8))
        let created = topics.map { "\($0.0) (\($0.1) partitions)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data(
            "kvstream broker: \(brokers) broker(s) at \(cluster.bootstrap)\(created.isEmpty ? "" : "; topics \(created)"); other topics are created on first use. Ctrl-C stops it.\n".utf8))
        let stop = StopSignal()
        SignalHandling.install(stop: stop, quiet: true)
        while !stop.isRequested { try? await Task.sleep(for: .milliseconds(100)) }
        withExtendedLifetime(cluster) {}
    }
}
