import Testing

@testable import KVStream

@Suite struct KeyGroupTests {
    @Test func keyGroupsAreStableAcrossProcesses() {
        // Golden values: if these change, checkpoints taken by earlier builds restore into the wrong instances.
        var scratch = BinaryWriter()
        #expect(KeyGroup.of("c000001", maxParallelism: 128, scratch: &scratch) == KeyGroup.of("c000001", maxParallelism: 128, scratch: &scratch))
        let golden = ["c000001", "c000002", "m0042", ""].map { KeyGroup.of($0, maxParallelism: 128, scratch: &scratch) }
        #expect(golden == [88, 6, 78, 123])  // computed independently in Python from the same definition
        #expect(KeyGroup.of(Int64(42), maxParallelism: 128, scratch: &scratch) == 9)
    }

    /// String keys are hashed without being encoded: the same groups as their encodings, at every length (the
    /// count's varint takes two bytes from 128 on) and in any script.
    @Test func stringKeysHashLikeTheirEncoding() {
        for count in 0...300 {
            for text in [String(repeating: "c", count: count), String(repeating: "é", count: count / 2) + "✓"] {
                var writer = BinaryWriter()
                text.encode(to: &writer)
                let encoded = writer.bytes.withUnsafeBytes { KeyGroup.of(encodedKey: $0, maxParallelism: 32_768) }
                var scratch = BinaryWriter()
                #expect(KeyGroup.of(text, maxParallelism: 32_768, scratch: &scratch) == encoded)
                #expect(scratch.bytes.isEmpty)
            }
        }
    }

    @Test func keysSpreadOverGroups() {
        var scratch = BinaryWriter()
        var counts = Array(repeating: 0, count: 128)
        for i in 0..<128_000 { counts[KeyGroup.of("c\(i)", maxParallelism: 128, scratch: &scratch)] += 1 }
        #expect(counts.min()! > 800 && counts.max()! < 1200)
    }

    @Test(arguments: [1, 2, 3, 4, 7, 128])
    func rangesPartitionAllGroups(parallelism: Int) {
        var owner = Array(repeating: -1, count: 128)
        for i in 0..<parallelism {
            for group in KeyGroup.range(operatorIndex: i, maxParallelism: 128, parallelism: parallelism) {
                #expect(owner[group] == -1)
                owner[group] = i
            }
        }
        for group in 0..<128 {
            #expect(owner[group] == KeyGroup.operatorIndex(keyGroup: group, maxParallelism: 128, parallelism: parallelism))
        }
    }

    @Test func binaryCodecRoundTrips() throws {
        var w = BinaryWriter()
        let values: [Int64] = [.min, -1, 0, 1, .max]
        values.encode(to: &w)
        "héllo ✓".encode(to: &w)
        Optional<Double>.none.encode(to: &w)
        Optional(2.5).encode(to: &w)
        Set(["a", "b"]).encode(to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try [Int64](from: &r) == values)
        #expect(try String(from: &r) == "héllo ✓")
        #expect(try Double?(from: &r) == nil)
        #expect(try Double?(from: &r) == 2.5)
        #expect(try Set<String>(from: &r) == ["a", "b"])
        #expect(r.isAtEnd)
        var truncated = BinaryReader(Array(w.bytes.prefix(3)))
        #expect(throws: BinaryDecodingError.self) { try [Int64](from: &truncated) }
    }

    @Test func int64EncodingSortsLikeValues() {
        func bytes(_ v: Int64) -> [UInt8] {
            var w = BinaryWriter()
            v.encode(to: &w)
            return w.bytes
        }
        let sorted: [Int64] = [.min, -5, -1, 0, 1, 7, .max]
        for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(bytes(a).lexicographicallyPrecedes(bytes(b))) }
    }
}
