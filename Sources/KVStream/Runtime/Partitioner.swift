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
    ///
    /// Records are moved, not copied, out of a batch that its caller gave up: one copy and one destruction of
    /// every record fewer (for a payment, seven strings retained and released; with the copy's value witnesses,
    /// a few percent of a p=2 Kafka job's profile). They are taken from the batch's end, so each target's new
    /// records are then reversed into order. A batch its caller still shares is copied on write, as before.
    public let scatter: @Sendable (
        _ batch: consuming RecordBatch<Element>, _ maxParallelism: Int, _ targets: inout [RecordBatch<Element>],
        _ scratch: inout BinaryWriter
    ) -> Void

    ///
    /// - Parameter keys: the keys of a batch (``KeyedStream/keys``, which reads them without copying records).
    @inlinable
    public init<K: StateKey>(keys: @escaping @Sendable (RecordBatch<Element>, inout [K]) -> Void) {
        scatter = { batch, maxParallelism, targets, scratch in
            var batch = consume batch
            let n = targets.count
            var owners: [Int] = []
            do {
                var batchKeys: [K] = []
                batchKeys.reserveCapacity(batch.count)
                keys(batch, &batchKeys)
                owners.reserveCapacity(batch.count)
                for key in batchKeys {
                    let group = KeyGroup.of(key, maxParallelism: maxParallelism, scratch: &scratch)
                    owners.append(KeyGroup.operatorIndex(keyGroup: group, maxParallelism: maxParallelism, parallelism: n))
                }
            }
            let starts = targets.map(\.count)
            for index in stride(from: batch.count - 1, through: 0, by: -1) {
                let value = batch.values.removeLast()
                targets[owners[index]].append(consume value, timestamp: batch.timestamps[index])
            }
            for target in 0..<n where targets[target].count - starts[target] > 1 {
                let start = starts[target]
                targets[target].values.withUnsafeMutableBufferPointer { Self.reverse($0, from: start) }
                targets[target].timestamps.withUnsafeMutableBufferPointer { Self.reverse($0, from: start) }
            }
        }
    }

    /// Reverses `buffer[start...]` by swapping in place. Reversing the array's slice copied the slice (it shares
    /// the array's buffer), and a slice of the buffer swaps by copying each record, retaining its strings.
    @inlinable
    static func reverse<T>(_ buffer: UnsafeMutableBufferPointer<T>, from start: Int) {
        var low = start
        var high = buffer.count - 1
        while low < high {
            buffer.swapAt(low, high)
            low += 1
            high -= 1
        }
    }
}
