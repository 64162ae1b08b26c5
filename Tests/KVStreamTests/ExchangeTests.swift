import Testing

@testable import KVStream

/// The hash exchange's dealing of records (``KeyGroupSelector``): every record reaches the instance that owns its
/// key group, in its batch's order, after what that instance's open batch held already.
@Suite struct ExchangeTests {
    struct Item: Sendable, Equatable {
        var key: String
        var sequence: Int
    }

    static let selector = KeyGroupSelector<Item>(keys: { batch, keys in
        for value in batch.values { keys.append(value.key) }
    })

    static func batch(_ range: Range<Int>) -> RecordBatch<Item> {
        RecordBatch(values: range.map { Item(key: "k\($0 % 37)", sequence: $0) }, timestamps: range.map { Int64($0) * 10 })
    }

    static func owner(_ key: String, instances: Int) -> Int {
        var scratch = BinaryWriter()
        let group = KeyGroup.of(key, maxParallelism: 128, scratch: &scratch)
        return KeyGroup.operatorIndex(keyGroup: group, maxParallelism: 128, parallelism: instances)
    }

    /// Two batches dealt over three instances, the first left in the open batches: each instance gets exactly its
    /// keys' records, in order, with their timestamps.
    @Test func dealsInOrderToTheOwners() {
        var targets = Array(repeating: RecordBatch<Item>(), count: 3)
        var scratch = BinaryWriter()
        Self.selector.scatter(Self.batch(0..<500), 128, &targets, &scratch)
        Self.selector.scatter(Self.batch(500..<1_200), 128, &targets, &scratch)
        for (instance, target) in targets.enumerated() {
            let expected = (0..<1_200).filter { Self.owner("k\($0 % 37)", instances: 3) == instance }
            #expect(!expected.isEmpty)
            #expect(target.values.map(\.sequence) == expected)
            #expect(target.timestamps == expected.map { Int64($0) * 10 })
            #expect(target.values.allSatisfy { Self.owner($0.key, instances: 3) == instance })
        }
    }

    /// A batch its caller still holds is dealt the same, and the caller's copy is left whole.
    @Test func aSharedBatchIsCopiedNotEmptied() {
        let kept = Self.batch(0..<300)
        var targets = Array(repeating: RecordBatch<Item>(), count: 2)
        var scratch = BinaryWriter()
        Self.selector.scatter(kept, 128, &targets, &scratch)
        #expect(kept.values.map(\.sequence) == Array(0..<300))
        #expect(targets.map(\.count).reduce(0, +) == 300)
        for (instance, target) in targets.enumerated() {
            #expect(target.values.map(\.sequence) == (0..<300).filter { Self.owner("k\($0 % 37)", instances: 2) == instance })
        }
    }
}
