import KVStreamPayments
import Testing

@testable import KVStream

/// A key whose hash takes only `buckets` values: long probe runs that wrap around the table's end, where
/// deletions must shift entries back correctly.
private struct CrowdedKey: Hashable {
    var id: Int
    var buckets: Int
    static func == (a: Self, b: Self) -> Bool { a.id == b.id }
    func hash(into hasher: inout Hasher) { hasher.combine(id % buckets) }
}

/// Counts live instances, to check that the map destroys what it holds exactly once.
private final class Tracked {
    nonisolated(unsafe) static var live = 0
    let value: Int
    init(_ value: Int) {
        self.value = value
        Tracked.live += 1
    }
    deinit { Tracked.live -= 1 }
}

/// ``StateMap``, the window table's own hash map, against the standard library's `Dictionary`.
@Suite(.serialized) struct StateMapTests {
    /// A long random mix of inserts, updates, removals and lookups, with keys crowded onto few hashes and with
    /// ordinary ones, ends with the same entries as a `Dictionary` given the same operations.
    @Test(arguments: [3, 17, 1 << 20])
    func randomOperationsMatchADictionary(buckets: Int) {
        var random = SplitMix64(seed: UInt64(buckets))
        let map = StateMap<CrowdedKey, Int>(seed: 42)
        var reference: [CrowdedKey: Int] = [:]
        for step in 0..<30_000 {
            let key = CrowdedKey(id: Int(random.next() % 600), buckets: buckets)
            switch random.next() % 4 {
            case 0, 1:
                map.update(key) { $0 = ($0 ?? 0) + step }
                reference[key, default: 0] += step
            case 2:
                map.update(key) { $0 = nil }
                reference[key] = nil
            default:
                #expect(map[key] == reference[key])
            }
            #expect(map.count == reference.count)
        }
        var seen: [CrowdedKey: Int] = [:]
        map.forEach { key, value in
            #expect(seen[key] == nil, "visited twice")
            seen[key] = value
        }
        #expect(seen == reference)
        for (key, value) in reference { #expect(map[key] == value) }
    }

    /// Removing every key in turn, each time from a table whose probe runs wrap around its end, leaves every
    /// other key reachable.
    @Test func removalsKeepEveryOtherKeyReachable() {
        for removedFirst in 0..<12 {
            let map = StateMap<CrowdedKey, Int>(minimumCapacity: 12, seed: 7)
            let keys = (0..<12).map { CrowdedKey(id: $0, buckets: 2) }
            for key in keys { map.update(key) { $0 = key.id } }
            map.update(keys[removedFirst]) { $0 = nil }
            for key in keys { #expect(map[key] == (key.id == removedFirst ? nil : key.id)) }
            for key in keys.shuffled() { map.update(key) { $0 = nil } }
            #expect(map.isEmpty)
            map.forEach { _, _ in Issue.record("an entry left") }
        }
    }

    /// The value is moved out for the update: a collection in it is changed without a copy.
    @Test func updatesMoveTheValue() {
        let map = StateMap<String, [Int]>(seed: 1)
        map.update("a") { $0 = Array(0..<100) }
        map.update("a") { value in
            // Reserving what the array holds already copies its buffer only when the buffer is shared.
            let before = value!.withUnsafeBufferPointer { $0.baseAddress }
            value!.reserveCapacity(value!.count)
            #expect(value!.withUnsafeBufferPointer { $0.baseAddress } == before)
            value!.append(100)
        }
        #expect(map["a"]?.count == 101)
    }

    /// Keys and values are destroyed exactly once: on removal, on `removeAll`, when the map goes away, and not
    /// when entries move (growth, shifts back).
    @Test func entriesAreDestroyedOnce() {
        #expect(Tracked.live == 0)
        do {
            let map = StateMap<Int, Tracked>(seed: 3)
            for i in 0..<1_000 { map.update(i) { $0 = Tracked(i) } }  // grows seven times
            #expect(Tracked.live == 1_000)
            for i in stride(from: 0, to: 1_000, by: 3) { map.update(i) { $0 = nil } }
            #expect(Tracked.live == 666)
            for i in 0..<1_000 { #expect(map[i]?.value == (i % 3 == 0 ? nil : i)) }
            map.update(1) { $0 = Tracked(-1) }
            #expect(Tracked.live == 666)
            let capacity = map.mask
            map.removeAll()
            #expect(Tracked.live == 0 && map.isEmpty && map.mask == capacity)
            for i in 0..<10 { map.update(i) { $0 = Tracked(i) } }
            #expect(Tracked.live == 10)
        }
        #expect(Tracked.live == 0)
    }

    /// String keys compare by their bytes, as ``StateMapKey`` does.
    @Test func stringKeysAreTheirBytes() {
        let map = StateMap<String, Int>(seed: 5)
        map.update("K") { $0 = 1 }
        map.update("\u{212A}") { $0 = 2 }
        var heap = "K"
        heap.reserveCapacity(40)
        map.update(heap) { $0 = ($0 ?? 0) + 10 }
        #expect(map.count == 2 && map["K"] == 11 && map["\u{212A}"] == 2)
    }
}
