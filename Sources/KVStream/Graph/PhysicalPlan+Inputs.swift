extension PhysicalPlan {
    /// One input of a task instance's gate: which upstream task instance feeds it.
    struct GateInput: Sendable {
        var index: Int
        var upstreamHead: Int
        var upstreamSubtask: Int
    }

    /// The inputs of the gate of task instance (`head`, `subtask`), in gate order.
    func gateInputs(head: Int, subtask: Int) -> [GateInput] {
        var result: [GateInput] = []
        let node = graph.nodes[head]
        for (k, edge) in node.inputs.enumerated() {
            guard let upstream = task(containing: edge.from) else { continue }
            let offset = gateOffsets[head][k]
            if partitioning[head][k] == .forward {
                result.append(GateInput(index: offset, upstreamHead: upstream.head, upstreamSubtask: subtask))
            } else {
                for s in 0..<upstream.parallelism {
                    result.append(GateInput(index: offset + s, upstreamHead: upstream.head, upstreamSubtask: s))
                }
            }
        }
        return result
    }

    /// Task instances that will never carry a record: source instances that own no split, and instances all of
    /// whose inputs come from such instances. Their downstream gates treat them as ended from the start, so
    /// event time never depends on when they first report being idle.
    func emptyInstances(splitCounts: [Int: Int]) -> Set<TaskInstanceKey> {
        var empty: Set<TaskInstanceKey> = []
        // Tasks are in node order, and a node's inputs always come before it.
        for task in tasks {
            for subtask in 0..<task.parallelism {
                let isEmpty: Bool
                if let splits = splitCounts[task.head] {
                    isEmpty = !(0..<splits).contains { $0 % task.parallelism == subtask }
                } else {
                    let inputs = gateInputs(head: task.head, subtask: subtask)
                    isEmpty = !inputs.isEmpty && inputs.allSatisfy {
                        empty.contains(TaskInstanceKey(head: $0.upstreamHead, subtask: $0.upstreamSubtask))
                    }
                }
                if isEmpty { empty.insert(TaskInstanceKey(head: task.head, subtask: subtask)) }
            }
        }
        return empty
    }
}

/// A task instance by its head node and subtask index.
struct TaskInstanceKey: Hashable, Sendable {
    var head: Int
    var subtask: Int
}
