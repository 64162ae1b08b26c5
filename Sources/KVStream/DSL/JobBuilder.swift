/// Declares a job's dataflow. A ``JobDefinition``'s build function receives one and reads sources from it.
///
/// ```swift
/// let job = JobDefinition(name: "count-per-minute", summary: "payments per channel and minute") { job in
///     job.source("payments", paymentEvents, watermarks: .boundedOutOfOrderness(.seconds(5)))
///         .keyBy("channel") { $0.channel.name }
///         .window(TumblingWindows.of(.minutes(1)))
///         .aggregate("channel-counts", CountSumAggregate()) { channel, window, acc in
///             ChannelCount(channel: channel, window: window, count: acc.count)
///         }
///         .sink("postgres", table: "channel_counts")
/// }
/// ```
public final class JobBuilder {
    public let jobName: String
    /// The run's configuration (the topology with its `--set` overrides), for jobs that read keys of their own
    /// under `jobs.<job name>` (`jobs.fraud-detection.model`); empty when the job is only described in a test.
    public let settings: Settings
    private(set) var nodes: [LogicalNode] = []
    private var names: [String: Int] = [:]
    private var statefulNames: Set<String> = []
    private var errors: [JobDefinitionError] = []

    /// Notes a mistake found while the job declares its dataflow; ``validate()`` reports the first.
    func record(_ error: JobDefinitionError) { errors.append(error) }

    init(jobName: String, settings: Settings = Settings()) {
        self.jobName = jobName
        self.settings = settings
    }

    /// Reads the source bound to `name` in the topology (`[sources.NAME]`), decoding records with `events`.
    ///
    /// Records the format rejects are on the side output ``OutputTag/rejected``.
    public func source<T: Sendable>(
        _ name: String, _ events: EventSource<T>, watermarks: WatermarkStrategy
    ) -> Stream<T> {
        let declaration = SourceDeclaration(
            name: name, nodeName: "source:\(name)", watermarks: watermarks, spawner: SourceSpawner(events))
        let node = addNode(
            name: "source:\(name)", kind: .source(name: name), stateful: true,
            detail: "\(events.formatName), watermarks: out-of-orderness \(watermarks.maxOutOfOrderness)",
            inputs: [], inputType: nil, outputType: StreamType<T>(), factory: .source(declaration))
        node.sidePorts.append((OutputTag<RejectedRecord>.rejected.id, StreamType<RejectedRecord>()))
        return Stream(builder: self, node: node.id, port: nil)
    }

    @discardableResult
    func addNode(
        name: String, kind: LogicalNode.Kind, stateful: Bool = false, detail: String, inputs: [LogicalEdge],
        inputType: (any AnyStreamType)?, outputType: (any AnyStreamType)?, factory: NodeFactory
    ) -> LogicalNode {
        // A stateful operator's name keys its state in checkpoints: it must be unique and must not depend on
        // the order of declarations. Stateless operators that repeat a name get a suffix.
        if stateful {
            if statefulNames.contains(name) || names[name] != nil {
                record(JobDefinitionError(
                    job: jobName, operatorName: name,
                    "another operator has this name; a stateful operator's name keys its state in checkpoints"))
            }
            statefulNames.insert(name)
        } else if statefulNames.contains(name) {
            record(JobDefinitionError(job: jobName, operatorName: name, "a stateful operator already has this name"))
        }
        var unique = name
        if let seen = names[name] {
            unique = "\(name)#\(seen + 1)"
            names[name] = seen + 1
        } else {
            names[name] = 1
        }
        let node = LogicalNode(
            id: nodes.count, name: unique, kind: kind, detail: detail, inputs: inputs, inputType: inputType,
            outputType: outputType, factory: factory)
        nodes.append(node)
        return node
    }

    func node(_ id: Int) -> LogicalNode { nodes[id] }

    /// Checks what the type system cannot: the graph is used consistently.
    func validate() throws {
        if let first = errors.first { throw first }
        for node in nodes {
            for edge in node.inputs {
                guard edge.from < nodes.count else {
                    throw JobDefinitionError(job: jobName, operatorName: node.name, "reads a stream of another job")
                }
                if let port = edge.port, nodes[edge.from].sidePortType(port) == nil {
                    throw JobDefinitionError(
                        job: jobName, operatorName: node.name,
                        "reads side output '\(port)' of '\(nodes[edge.from].name)', which does not produce it")
                }
            }
            if let p = node.parallelism, p < 1 {
                throw JobDefinitionError(job: jobName, operatorName: node.name, "parallelism must be at least 1")
            }
        }
        var tables: [String: String] = [:]
        for node in nodes {
            guard case .sink(let name, let table) = node.kind else { continue }
            // Two sink operators writing one table would race on its files and its rows.
            if let other = tables["\(name)/\(table)"] {
                throw JobDefinitionError(
                    job: jobName, operatorName: node.name,
                    "writes table '\(table)' of sink '\(name)' as '\(other)' does: union the streams into one sink")
            }
            tables["\(name)/\(table)"] = node.name
        }
        if tables.isEmpty {
            throw JobDefinitionError(job: jobName, operatorName: "(job)", "declares no sink: it would compute nothing")
        }
    }
}
