import Synchronization

/// The chunks this process's writers staged, kept in memory until their commit takes them, so that a commit in the
/// process that staged its rows does not read them back from PostgreSQL. A commit whose chunk is not here (replayed
/// by a restart, retried after its connection broke, or past the byte limit) reads it from staging.
final class StagedChunkCache: Sendable {
    static let shared = StagedChunkCache(limit: 128 << 20)

    private let limit: Int
    private let state = Mutex<(chunks: [String: [UInt8]], bytes: Int)>(([:], 0))

    init(limit: Int) { self.limit = limit }

    static func key(staging: String, sink: String, instance: String, chunk: String) -> String {
        "\(staging)\u{0}\(sink)\u{0}\(instance)\u{0}\(chunk)"
    }

    /// Keeps a copy of a staged chunk unless that would pass the limit.
    func put(_ key: String, _ data: [UInt8]) {
        state.withLock { state in
            guard state.bytes + data.count <= limit, state.chunks[key] == nil else { return }
            state.chunks[key] = data
            state.bytes += data.count
        }
    }

    /// Forgets every chunk, as a new process would not have them (tests).
    func removeAll() { state.withLock { $0 = ([:], 0) } }

    func take(_ key: String) -> [UInt8]? {
        state.withLock { state in
            guard let data = state.chunks.removeValue(forKey: key) else { return nil }
            state.bytes -= data.count
            return data
        }
    }
}
