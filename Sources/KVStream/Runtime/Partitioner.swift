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

/// Computes the key group of a record, for hash exchanges and keyed state.
public struct KeyGroupSelector<Element>: Sendable {
    /// The key group of a record, given the job's max parallelism; encodes the key into the scratch writer.
    public let keyGroup: @Sendable (Element, Int, inout BinaryWriter) -> Int

    public init<K: StateKey>(key: @escaping @Sendable (Element) -> K) {
        keyGroup = { element, maxParallelism, scratch in
            KeyGroup.of(key(element), maxParallelism: maxParallelism, scratch: &scratch)
        }
    }
}
