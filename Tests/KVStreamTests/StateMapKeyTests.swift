import Testing

@testable import KVStream

/// The state tables' own hashing of string keys (``StateMapKey``, ``StateHashing``).
@Suite struct StateMapKeyTests {
    /// The same bytes in two representations: inline (at most 15 bytes) and in a heap buffer (made so by reserving
    /// capacity), which the standard library never merges.
    static func representations(_ text: String) -> [String] {
        var heap = text
        heap.reserveCapacity(64)
        return [text, heap, String(decoding: Array(text.utf8), as: UTF8.self)]
    }

    /// Equal bytes compare equal and hash equal, through both hooks, in every representation and at every length
    /// around the hash's read widths (3, 4, 8, 16 bytes and beyond).
    @Test func equalBytesHashEqualInEveryRepresentation() {
        for count in 0...70 {
            for text in [String(repeating: "c", count: count), String((0..<count).map { Character(UnicodeScalar(65 + $0 % 26)!) }),
                         String(repeating: "é", count: count / 2)] {
                let keys = Self.representations(text).map(StateMapKey.init)
                for a in keys {
                    for b in keys {
                        #expect(a == b)
                        #expect(a._rawHashValue(seed: 12_345) == b._rawHashValue(seed: 12_345))
                        #expect(a.hashValue == b.hashValue)
                    }
                }
            }
        }
    }

    /// Every byte counts: changing any one byte of a key, at every length and position, changes its hash.
    @Test func everyByteChangesTheHash() {
        for count in 1...48 {
            let base = Array((0..<count).map { UInt8(97 + $0 % 26) })
            let hash = StateMapKey(String(decoding: base, as: UTF8.self))._rawHashValue(seed: 7)
            for position in 0..<count {
                var changed = base
                changed[position] = UInt8(ascii: "0") + UInt8(position % 10)
                let other = StateMapKey(String(decoding: changed, as: UTF8.self))
                #expect(other._rawHashValue(seed: 7) != hash, "length \(count), byte \(position)")
                #expect(other != StateMapKey(String(decoding: base, as: UTF8.self)))
            }
            // A trailing zero byte is a byte too, not padding.
            let longer = StateMapKey(String(decoding: base + [0], as: UTF8.self))
            #expect(longer._rawHashValue(seed: 7) != hash)
        }
    }

    /// Keys are told apart by their bytes, as key groups and the store tell them apart: "K" and the Kelvin sign,
    /// equal as Swift strings, are two keys with two accumulators.
    @Test func canonicallyEquivalentStringsAreDistinctKeys() {
        #expect("K" == "\u{212A}")  // the standard library's view
        #expect(StateMapKey("K") != StateMapKey("\u{212A}"))
        // Two combining marks in either order: equivalent, and five bytes each, so only the bytes tell them apart.
        let marks = ("a\u{301}\u{316}", "a\u{316}\u{301}")
        #expect(marks.0 == marks.1 && marks.0.utf8.count == marks.1.utf8.count)
        #expect(StateMapKey(marks.0) != StateMapKey(marks.1))
        let table = WindowTable<String, Int>()
        let window = TimeWindow(start: 0, end: 60_000)
        for key in ["K", "\u{212A}", "K"] { table.update(key, window) { $0 = ($0 ?? 0) + 1 } }
        var seen: [String: Int] = [:]
        table.forEach(in: window) { key, count in seen[key.unicodeScalars.map { String($0.value) }.joined()] = count }
        #expect(seen == ["75": 2, "8490": 1])
    }

    /// Per-key state (``StateEntryKey``) tells keys apart the same way, with or without a namespace.
    @Test func entryKeysCompareLikeMapKeys() {
        let window = TimeWindow(start: 0, end: 10)
        for text in ["", "c0001234", "a much longer customer id, past sixteen bytes"] {
            let keys = Self.representations(text).map { StateEntryKey(key: $0, namespace: VoidNamespace()) }
            let windowed = Self.representations(text).map { StateEntryKey(key: $0, namespace: window) }
            for a in keys.indices {
                for b in keys.indices {
                    #expect(keys[a] == keys[b] && keys[a]._rawHashValue(seed: 9) == keys[b]._rawHashValue(seed: 9))
                    #expect(windowed[a] == windowed[b] && windowed[a].hashValue == windowed[b].hashValue)
                    #expect(windowed[a]._rawHashValue(seed: 9) == windowed[b]._rawHashValue(seed: 9))
                }
            }
        }
        #expect(StateEntryKey(key: "K", namespace: VoidNamespace()) != StateEntryKey(key: "\u{212A}", namespace: VoidNamespace()))
        #expect(StateEntryKey(key: "K", namespace: window) != StateEntryKey(key: "K", namespace: TimeWindow(start: 10, end: 20)))
        let table = KeyedValueTable<String, VoidNamespace, Int>()
        table.put("K", VoidNamespace(), 1)
        table.put("\u{212A}", VoidNamespace(), 2)
        #expect(table.count == 2 && table.get("K", VoidNamespace()) == 1)
    }

    /// Ids of the kind jobs key by spread over a table's buckets: no two of 200,000 share a hash, and the low
    /// bits the dictionary indexes with fill 2^18 buckets about as evenly as random numbers would.
    @Test func idsSpreadOverBuckets() {
        let count = 200_000
        var hashes = Set<Int>()
        var buckets = [Int](repeating: 0, count: 1 << 18)
        for i in 0..<count {
            let digits = String(i)
            let hash = StateMapKey("c" + String(repeating: "0", count: 7 - digits.count) + digits)._rawHashValue(seed: 99)
            hashes.insert(hash)
            buckets[hash & (buckets.count - 1)] += 1
        }
        #expect(hashes.count == count)
        // Poisson with mean 0.76: P(k >= 9) is about 1e-8 per bucket.
        #expect(buckets.max()! <= 8)
        let empty = Double(buckets.filter { $0 == 0 }.count) / Double(buckets.count)
        #expect(abs(empty - 0.467) < 0.01)  // e^-0.763
    }

    /// The seed changes every hash (each dictionary draws its own).
    @Test func theSeedChangesTheHash() {
        let keys = (0..<1_000).map { StateMapKey("m\($0)") }
        let differing = keys.filter { $0._rawHashValue(seed: 1) != $0._rawHashValue(seed: 2) }.count
        #expect(differing == keys.count)
    }

    /// Keys other than strings hash and compare as they always did.
    @Test func otherKeysKeepTheirHashing() {
        for value in [0, 1, -5, Int.max] {
            #expect(StateMapKey(value)._rawHashValue(seed: 3) == value._rawHashValue(seed: 3))
            #expect(StateMapKey(value).hashValue == value.hashValue)
        }
        #expect(StateMapKey(Int64(4)) == StateMapKey(Int64(4)))
        #expect(StateMapKey(Int64(4)) != StateMapKey(Int64(5)))
    }
}
