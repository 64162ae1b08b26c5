import Foundation
import Testing

@testable import KVStream

@Suite struct CheckpointTests {
    func sample() -> TaskSnapshot {
        let builder = SnapshotBuilder(checkpointID: 7, maxParallelism: 128)
        builder.addKeyed("op::table", key: "c000001", namespace: TimeWindow(start: 0, end: 60_000), value: Int64(42))
        builder.addOperatorState("op::watermark", Int64(1_000))
        builder.addCommit(.rename(from: "/a/.part-0-7.jsonl.pending", to: "/a/part-0-7.jsonl"))
        builder.setStoreCheckpoint("/x/chk-7/op-0.store")
        return builder.snapshot
    }

    @Test func snapshotFilesRoundTrip() throws {
        let snapshot = sample()
        let decoded = try SnapshotFile.decode(SnapshotFile.encode(snapshot), origin: "test")
        #expect(decoded.keyed == snapshot.keyed)
        #expect(decoded.operatorState == snapshot.operatorState)
        #expect(decoded.commits == snapshot.commits)
        #expect(decoded.storeCheckpoint == "op-0.store")
        var empty = TaskSnapshot()
        empty.keyed = []
        #expect(try SnapshotFile.decode(SnapshotFile.encode(empty), origin: "test").storeCheckpoint == nil)
    }

    @Test func crc32MatchesTheBytewiseDefinition() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        // Every length around the 8-byte steps, slices at odd offsets, seeds, and a non-contiguous sequence.
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        func reference(_ bytes: some Sequence<UInt8>, seed: UInt32 = 0) -> UInt32 {
            var crc = ~seed
            for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
            return ~crc
        }
        var generator = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0..<70 {
            for offset in [0, 1, 3] {
                let slice = data[offset..<(offset + length)]
                #expect(CRC32.checksum(slice) == reference(slice))
                #expect(CRC32.checksum(slice, seed: 0xDEAD_BEEF) == reference(slice, seed: 0xDEAD_BEEF))
            }
        }
        #expect(CRC32.checksum(data) == reference(data))
        #expect(CRC32.checksum(data.lazy.map { $0 }) == reference(data))
    }

    @Test func corruptSnapshotsAreRefused() {
        var bytes = SnapshotFile.encode(sample())
        bytes[bytes.count / 2] ^= 0x40
        #expect(throws: BinaryDecodingError.self) { try SnapshotFile.decode(bytes, origin: "test") }
        #expect(throws: BinaryDecodingError.self) { try SnapshotFile.decode(Array(bytes.prefix(10)), origin: "test") }
    }

    @Test func keyedEntriesCarryTheirKeyGroup() throws {
        let entry = sample().keyed[0]
        var scratch = BinaryWriter()
        #expect(entry.keyGroup == KeyGroup.of("c000001", maxParallelism: 128, scratch: &scratch))
        let restored = RestoredState(checkpointID: 7, keyed: [entry], operatorState: [])
        let values = try restored.keyedEntries("op::table", key: String.self, namespace: TimeWindow.self, value: Int64.self)
        #expect(values.count == 1 && values[0].0 == "c000001" && values[0].2 == 42)
    }

    @Test func alignerWaitsForEveryInputAndCountsEndedOnes() {
        var aligner = BarrierAligner(inputs: 3)
        let b1 = CheckpointBarrier(id: 1, triggeredAt: 0)
        #expect(aligner.barrier(b1, input: 0) == [.block(input: 0)])
        #expect(aligner.inputEnded(2) == [])
        #expect(aligner.barrier(b1, input: 1) == [.snapshot(b1)])
        // A newer barrier abandons an alignment that never completed.
        let b2 = CheckpointBarrier(id: 2, triggeredAt: 0)
        let b3 = CheckpointBarrier(id: 3, triggeredAt: 0)
        #expect(aligner.barrier(b2, input: 0) == [.block(input: 0)])
        #expect(aligner.barrier(b3, input: 1) == [.unblockAll, .block(input: 1)])
        #expect(aligner.barrier(b2, input: 1) == [])  // stale
        #expect(aligner.barrier(b3, input: 0) == [.snapshot(b3)])
    }

    @Test func metadataIsWrittenAtomicallyAndListed() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-ckpt-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let storage = CheckpointStorage(directory: root, job: "j")
        let file = try storage.writeTaskSnapshot(sample(), id: 3, task: "sink:x/y", subtask: 0)
        let metadata = CheckpointMetadata(
            job: "j", checkpointID: 3, triggeredAt: 1, completedAt: 2, maxParallelism: 128, parallelism: ["a": 1],
            final: false, tasks: [file], commits: [])
        try storage.writeMetadata(metadata)
        try FileManager.default.createDirectory(atPath: root + "/j/chk-4", withIntermediateDirectories: true)
        let listings = storage.list()
        #expect(listings.map(\.id) == [4, 3])
        #expect(listings[0].metadata == nil && listings[1].metadata == metadata)
        #expect(try storage.readSnapshots(metadata).count == 1)
        #expect(!FileManager.default.fileExists(atPath: root + "/j/chk-3/_metadata.tmp"))
    }
}
