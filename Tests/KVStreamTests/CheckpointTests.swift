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
