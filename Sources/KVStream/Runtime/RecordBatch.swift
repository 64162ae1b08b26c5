/// Records that travel together: values with their event timestamps, in two parallel arrays.
///
/// Tasks exchange batches, never single records: one actor hop per batch costs about a microsecond, one per
/// record would cost the whole budget. Stateless operators rewrite a batch in place.
public struct RecordBatch<Element>: Sendable where Element: Sendable {
    public var values: [Element]
    /// Event time of each value, epoch milliseconds.
    public var timestamps: [Int64]

    public init() {
        values = []
        timestamps = []
    }

    public init(reservingCapacity capacity: Int) {
        values = []
        timestamps = []
        values.reserveCapacity(capacity)
        timestamps.reserveCapacity(capacity)
    }

    public init(values: [Element], timestamps: [Int64]) {
        precondition(values.count == timestamps.count, "a batch needs one timestamp per value")
        self.values = values
        self.timestamps = timestamps
    }

    @inlinable public var count: Int { values.count }
    @inlinable public var isEmpty: Bool { values.isEmpty }

    @inlinable
    public mutating func append(_ value: consuming Element, timestamp: Int64) {
        values.append(value)
        timestamps.append(timestamp)
    }

    @inlinable
    public mutating func removeAll(keepingCapacity: Bool = true) {
        values.removeAll(keepingCapacity: keepingCapacity)
        timestamps.removeAll(keepingCapacity: keepingCapacity)
    }
}

/// How many records a batch holds before it is sent on.
public enum BatchSize {
    public static let `default` = 1024
}
