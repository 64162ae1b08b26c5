/// Decides which downstream task instance receives each record of an exchange.
public enum Partitioning: Sendable, CustomStringConvertible {
    /// Task instance i sends to task instance i (same parallelism on both sides).
    case forward
    /// Records are spread evenly over all downstream instances.
    case rebalance
    /// Records go to the instance that owns their key's key group.
    case hash
    /// Every record goes to every downstream instance.
    case broadcast

    public var description: String {
        switch self {
        case .forward: "FORWARD"
        case .rebalance: "REBALANCE"
        case .hash: "HASH"
        case .broadcast: "BROADCAST"
        }
    }
}

/// Deals the records of a hash exchange to the task instances that own their keys' key groups.
public struct KeyGroupSelector<Element: Sendable>: Sendable {
    /// Appends each record of a batch, in order, to the batch of the instance that owns its key group (one per
    /// instance in `targets`), given the job's max parallelism.
    ///
    /// Formed in the inlinable `init`, which the compiler emits where the DSL names the record type: the hash
    /// exchange's per-record copy is then specialized. From the generic exchange it went through value witnesses
    /// and looked up metadata per record, which made a Kafka job slower at p=2 than at p=1.
    public let scatter: @Sendable (
        _ batch: RecordBatch<Element>, _ maxParallelism: Int, _ targets: inout [RecordBatch<Element>],
        _ scratch: inout BinaryWriter
    ) -> Void

    ///
    /// - Parameter keys: the keys of a batch (``KeyedStream/keys``, which reads them without copying records).
    @inlinable
    public init<K: StateKey>(keys: @escaping @Sendable (RecordBatch<Element>, inout [K]) -> Void) {
        scatter = { batch, maxParallelism, targets, scratch in
            let n = targets.count
            var batchKeys: [K] = []
            batchKeys.reserveCapacity(batch.count)
            keys(batch, &batchKeys)
            for i in 0..<batch.count {
                let group = KeyGroup.of(batchKeys[i], maxParallelism: maxParallelism, scratch: &scratch)
                let target = KeyGroup.operatorIndex(keyGroup: group, maxParallelism: maxParallelism, parallelism: n)
                targets[target].append(batch.values[i], timestamp: batch.timestamps[i])
            }
        }
    }
}
