/// One edge of the logical graph: where a node's input comes from and how records are distributed.
public struct LogicalEdge: Sendable {
    public var from: Int
    /// The side-output tag of `from` this edge reads, or nil for its main output.
    public var port: String?
    public var partitioning: Partitioning
    /// For hash edges: a `KeyGroupSelector<Element>` of the edge's element type.
    let keyGroupSelector: (any Sendable)?
    /// The key's description for `describe` (`customer_id`).
    public var keyDescription: String?
    /// For hash edges: whether one key's records all come from one input partition.
    public var keyScope: KeyScope = .global
}

/// Where the records of one key can come from.
public enum KeyScope: Sendable, Equatable {
    /// Any input partition: the key's state needs records from every partition (a shuffle across machines).
    case global
    /// One input partition only (the key contains the partitioning key of the input topic).
    case inputPartition
}

/// How a node is made at run time.
enum NodeFactory: Sendable {
    /// Makes the operator instance (a `Downstream<Input>`) given its output (a `Downstream<Output>`).
    case `operator`(@Sendable (OperatorContext, AnyObject) throws -> AnyObject)
    /// Makes the source instance's runner.
    case source(SourceDeclaration)
    /// Makes the sink operator given the connector the topology binds the sink name to.
    case sink(@Sendable (OperatorContext, any SinkConnector) throws -> AnyObject)
}

/// A node of the logical graph: a source, an operator or a sink.
public final class LogicalNode: @unchecked Sendable {
    // @unchecked: nodes are mutated only while the job's build closure runs on one thread; the finished graph is
    // read-only.
    public enum Kind: Sendable, Equatable {
        case source(name: String)
        case `operator`
        case sink(name: String, table: String)
    }

    public let id: Int
    public let name: String
    public let kind: Kind
    /// What the operator does, for `describe` (`tumbling 1min, lateness 1min, aggregate`).
    public let detail: String
    public internal(set) var parallelism: Int?
    /// For sinks: whether a topology may leave the sink unbound (its rows are then discarded).
    public internal(set) var optionalSink = false
    public internal(set) var inputs: [LogicalEdge]
    let inputType: (any AnyStreamType)?
    let outputType: (any AnyStreamType)?
    var sidePorts: [(tag: String, type: any AnyStreamType)] = []
    let factory: NodeFactory

    init(
        id: Int, name: String, kind: Kind, detail: String, inputs: [LogicalEdge],
        inputType: (any AnyStreamType)?, outputType: (any AnyStreamType)?, factory: NodeFactory
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.detail = detail
        self.inputs = inputs
        self.inputType = inputType
        self.outputType = outputType
        self.factory = factory
    }

    func sidePortType(_ tag: String) -> (any AnyStreamType)? { sidePorts.first { $0.tag == tag }?.type }
}

/// The job's dataflow as the DSL declared it: typed nodes and edges, before parallelism and chaining.
public struct LogicalGraph: Sendable {
    public let jobName: String
    public let nodes: [LogicalNode]

    /// The edges that read from a node's port.
    func consumers(of node: Int, port: String?) -> [(consumer: LogicalNode, edgeIndex: Int)] {
        var result: [(LogicalNode, Int)] = []
        for n in nodes {
            for (i, e) in n.inputs.enumerated() where e.from == node && e.port == port { result.append((n, i)) }
        }
        return result
    }

    /// The source names of the job.
    public var sourceNames: [String] {
        nodes.compactMap { if case .source(let name) = $0.kind { name } else { nil } }
    }

    /// Whether every keyed operator's keys stay within one input partition, so that the job can run once per
    /// input partition (each run with its own state and checkpoints) and scale out by moving partitions.
    public var keysStayInInputPartitions: Bool {
        nodes.allSatisfy { node in node.inputs.allSatisfy { $0.partitioning != .hash || $0.keyScope == .inputPartition } }
    }

    /// The keyed edges that shuffle across input partitions, for the message that says why a job cannot scale out.
    public var globalKeys: [String] {
        nodes.flatMap { node in
            node.inputs.filter { $0.partitioning == .hash && $0.keyScope == .global }
                .map { "\(node.name) by \($0.keyDescription ?? "key")" }
        }
    }
}

/// A job's definition: its name, what it does, and the function that declares its dataflow.
public struct JobDefinition: Sendable {
    public let name: String
    public let summary: String
    let build: @Sendable (JobBuilder) throws -> Void

    public init(name: String, summary: String, build: @escaping @Sendable (JobBuilder) throws -> Void) {
        self.name = name
        self.summary = summary
        self.build = build
    }

    /// Runs the job's build function and returns its logical graph.
    ///
    /// - Parameter settings: the run's configuration, which the build function may read (``JobBuilder/settings``);
    ///   a ``ConfigError`` it throws stops the run with exit code 2.
    public func logicalGraph(settings: Settings = Settings()) throws -> LogicalGraph {
        let builder = JobBuilder(jobName: name, settings: settings)
        try build(builder)
        try builder.validate()
        return LogicalGraph(jobName: name, nodes: builder.nodes)
    }
}

/// A mistake in a job's declaration that types could not catch; reported at job start in one line.
public struct JobDefinitionError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(job: String, operatorName: String, _ message: String) {
        description = "job '\(job)', operator '\(operatorName)': \(message)"
    }
}
