/// The job as it runs: each node's parallelism, which nodes are chained into one task, and how each task
/// instance's inbox is laid out.
public struct PhysicalPlan: Sendable {
    /// A chain of operators that runs as one task per instance.
    public struct Task: Sendable {
        /// The first node of the chain: a source, or the node whose inputs arrive over the network.
        public let head: Int
        /// Every node of the chain, head first.
        public let nodes: [Int]
        public let parallelism: Int
    }

    public let graph: LogicalGraph
    public let tasks: [Task]
    public let maxParallelism: Int
    let parallelism: [Int]
    /// The effective partitioning of each node's input edges.
    let partitioning: [[Partitioning]]
    /// For each node: where each input edge's inputs start in the head's gate.
    let gateOffsets: [[Int]]
    let gateInputs: [Int]

    public init(graph: LogicalGraph, defaultParallelism: Int, maxParallelism: Int) throws {
        self.graph = graph
        self.maxParallelism = maxParallelism
        let nodes = graph.nodes
        let parallelism = nodes.map { $0.parallelism ?? defaultParallelism }
        for (node, p) in zip(nodes, parallelism) where p > maxParallelism {
            throw JobDefinitionError(
                job: graph.jobName, operatorName: node.name,
                "parallelism \(p) exceeds job.max_parallelism \(maxParallelism)")
        }
        var partitioning: [[Partitioning]] = []
        var gateOffsets: [[Int]] = []
        var gateInputs: [Int] = []
        for (index, node) in nodes.enumerated() {
            var kinds: [Partitioning] = []
            var offsets: [Int] = []
            var total = 0
            for edge in node.inputs {
                var kind = edge.partitioning
                // A forward edge between different parallelisms cannot be one-to-one.
                if kind == .forward && parallelism[edge.from] != parallelism[index] { kind = .rebalance }
                kinds.append(kind)
                offsets.append(total)
                total += kind == .forward ? 1 : parallelism[edge.from]
            }
            partitioning.append(kinds)
            gateOffsets.append(offsets)
            gateInputs.append(total)
        }
        self.parallelism = parallelism
        self.partitioning = partitioning
        self.gateOffsets = gateOffsets
        self.gateInputs = gateInputs

        var tasks: [Task] = []
        for node in nodes where Self.isHead(node, partitioning: partitioning[node.id]) {
            var chain: [Int] = []
            Self.collectChain(node.id, nodes: nodes, partitioning: partitioning, into: &chain)
            tasks.append(Task(head: node.id, nodes: chain, parallelism: parallelism[node.id]))
        }
        self.tasks = tasks
    }

    /// A node starts a task unless it has exactly one input, arriving by a forward edge (same parallelism).
    static func isHead(_ node: LogicalNode, partitioning: [Partitioning]) -> Bool {
        !(node.inputs.count == 1 && partitioning[0] == .forward)
    }

    private static func collectChain(_ id: Int, nodes: [LogicalNode], partitioning: [[Partitioning]],
                                     into chain: inout [Int]) {
        chain.append(id)
        for consumer in nodes where !isHead(consumer, partitioning: partitioning[consumer.id])
            && consumer.inputs[0].from == id
        {
            collectChain(consumer.id, nodes: nodes, partitioning: partitioning, into: &chain)
        }
    }

    public func parallelism(of node: Int) -> Int { parallelism[node] }

    /// Whether `consumer` runs chained behind its (single) input.
    func isChained(_ consumer: LogicalNode) -> Bool { !Self.isHead(consumer, partitioning: partitioning[consumer.id]) }

    /// The task whose chain contains `node`.
    public func task(containing node: Int) -> Task? { tasks.first { $0.nodes.contains(node) } }
}
