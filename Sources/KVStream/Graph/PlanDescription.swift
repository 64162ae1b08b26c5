/// Renders a job's logical and physical graph for `kvstream describe`, as text or Graphviz.
public struct PlanDescription {
    public let plan: PhysicalPlan
    /// What each source node reads and where each sink node writes, when a topology was resolved.
    public var bindings: [Int: String] = [:]

    public init(plan: PhysicalPlan) { self.plan = plan }

    private var graph: LogicalGraph { plan.graph }

    public func text() -> String {
        var lines = ["job \(graph.jobName)", "", "logical graph:"]
        for node in graph.nodes {
            var line = "  [\(node.id)] \(node.name): \(node.detail)"
            if let binding = bindings[node.id] { line += " <- \(binding)" }
            lines.append(line)
            for edge in node.inputs {
                let from = graph.nodes[edge.from].name + (edge.port.map { " (side output '\($0)')" } ?? "")
                let key = edge.keyDescription.map { " by \($0)" } ?? ""
                lines.append("      <- \(from) \(edge.partitioning)\(key)")
            }
        }
        lines.append("")
        lines.append("physical graph (max parallelism \(plan.maxParallelism)):")
        for (index, task) in plan.tasks.enumerated() {
            let names = task.nodes.map { graph.nodes[$0].name }.joined(separator: " -> ")
            lines.append("  task \(index) x\(task.parallelism): \(names)")
            let head = graph.nodes[task.head]
            for (edgeIndex, edge) in head.inputs.enumerated() {
                let upstream = plan.task(containing: edge.from).map { plan.tasks.firstIndex(of: $0) ?? -1 } ?? -1
                lines.append("      <- task \(upstream) \(plan.partitioning[head.id][edgeIndex])")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Graphviz digraph: one cluster per task, nodes are operators, edges labelled with their exchange.
    public func dot() -> String {
        var out = ["digraph \"\(escape(graph.jobName))\" {", "  rankdir=LR;", "  node [shape=box, fontname=\"Helvetica\"];"]
        for (index, task) in plan.tasks.enumerated() {
            out.append("  subgraph cluster_\(index) {")
            out.append("    label=\"task \(index) x\(task.parallelism)\"; style=rounded;")
            for id in task.nodes {
                let node = graph.nodes[id]
                out.append("    n\(id) [label=\"\(escape(node.name))\\n\(escape(node.detail))\"];")
            }
            out.append("  }")
        }
        for node in graph.nodes {
            for (edgeIndex, edge) in node.inputs.enumerated() {
                var label = "\(plan.partitioning[node.id][edgeIndex])"
                if let key = edge.keyDescription { label += " by \(key)" }
                if let port = edge.port { label += " [\(port)]" }
                let style = plan.isChained(node) ? ", style=dashed" : ""
                out.append("  n\(edge.from) -> n\(node.id) [label=\"\(escape(label))\"\(style)];")
            }
        }
        out.append("}")
        return out.joined(separator: "\n") + "\n"
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

extension PhysicalPlan.Task: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.head == b.head }
}
