import Synchronization
/// What one task instance contributes to a checkpoint: its operators' keyed state (tagged with key groups, so
/// it can be restored at another parallelism), their operator-level state, and the commits its sinks staged.
public struct TaskSnapshot: Sendable {
    /// One entry of keyed state: a state name, the key group, and the encoded key, namespace and value.
    public struct KeyedEntry: Sendable, Equatable {
        public var name: String
        public var keyGroup: Int
        public var key: [UInt8]
        public var namespace: [UInt8]
        public var value: [UInt8]
    }

    /// Operator-level state: restored to every new instance (union semantics); the operator picks what it needs.
    public struct OperatorEntry: Sendable, Equatable {
        public var name: String
        public var value: [UInt8]
    }

    public var keyed: [KeyedEntry] = []
    public var operatorState: [OperatorEntry] = []
    public var commits: [CommitAction] = []
    /// A copy of the instance's state store, by name inside the checkpoint directory (instead of keyed entries).
    public var storeCheckpoint: String?

    public init() {}
}

/// Something a sink staged at a barrier, done once the checkpoint is complete. Commits are idempotent: a
/// restart that replays the commit of its restored checkpoint does no harm.
public enum CommitAction: Sendable, Equatable {
    /// Rename a staged file into its visible name (a no-op when the target already exists and the source is gone).
    case rename(from: String, to: String)
    /// A connector's own commit (a PostgreSQL transaction, an object-store copy), carried out by the handler
    /// registered for `handler` in ``CommitHandlers``. `fields` are recorded in the checkpoint's metadata: never
    /// secrets.
    case external(handler: String, fields: [String: String])
}

/// Carries out ``CommitAction/external(handler:fields:)`` commits, by handler name. Connectors register theirs
/// when they are created, before a restore replays the commits of the checkpoint it restores.
public enum CommitHandlers {
    public typealias Handler = @Sendable (_ fields: [String: String]) throws -> Void

    private static let handlers = Mutex<[String: Handler]>([:])

    public static func register(_ name: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[name] = handler }
    }

    static func run(_ name: String, fields: [String: String]) throws {
        guard let handler = handlers.withLock({ $0[name] }) else {
            throw ConnectorError("no connector in this job carries out commits of \(name) (is its sink still configured?)")
        }
        try handler(fields)
    }
}

/// Collects a task instance's snapshot while a barrier passes through its chain.
public final class SnapshotBuilder {
    public let checkpointID: Int64
    public let maxParallelism: Int
    private(set) var snapshot = TaskSnapshot()
    private var scratch = BinaryWriter()

    init(checkpointID: Int64, maxParallelism: Int) {
        self.checkpointID = checkpointID
        self.maxParallelism = maxParallelism
    }

    /// Adds one entry of keyed state; its key group is computed from the key's encoding.
    public func addKeyed<K: BinaryCodable, N: BinaryCodable, V: BinaryCodable>(
        _ name: String, key: K, namespace: N, value: V
    ) {
        scratch.reset()
        namespace.encode(to: &scratch)
        addKeyed(name, key: key, encodedNamespace: scratch.bytes, value: value)
    }

    /// As ``addKeyed(_:key:namespace:value:)`` with the namespace already encoded, for many entries of one
    /// namespace (the keys of a window): the bytes are shared instead of encoded and allocated per entry.
    public func addKeyed<K: BinaryCodable, V: BinaryCodable>(
        _ name: String, key: K, encodedNamespace namespaceBytes: [UInt8], value: V
    ) {
        scratch.reset()
        key.encode(to: &scratch)
        let keyBytes = scratch.bytes
        let group = keyBytes.withUnsafeBytes { KeyGroup.of(encodedKey: $0, maxParallelism: maxParallelism) }
        scratch.reset()
        value.encode(to: &scratch)
        snapshot.keyed.append(
            TaskSnapshot.KeyedEntry(name: name, keyGroup: group, key: keyBytes, namespace: namespaceBytes,
                                    value: scratch.bytes))
    }

    /// Adds operator-level state.
    public func addOperatorState<V: BinaryCodable>(_ name: String, _ value: V) {
        var w = BinaryWriter()
        value.encode(to: &w)
        snapshot.operatorState.append(TaskSnapshot.OperatorEntry(name: name, value: w.bytes))
    }

    public func addCommit(_ action: CommitAction) { snapshot.commits.append(action) }

    /// Records that the keyed state is in a store checkpoint at `directory` (its last path component is kept).
    func setStoreCheckpoint(_ directory: String) {
        snapshot.storeCheckpoint = String(directory.split(separator: "/").last ?? Substring(directory))
    }
}

/// The state restored into one task instance: keyed entries of its key groups, and every operator entry.
public final class RestoredState: Sendable {
    public let checkpointID: Int64
    private let keyed: [String: [TaskSnapshot.KeyedEntry]]
    private let operatorState: [String: [[UInt8]]]
    /// Store checkpoints of the instances the state comes from (absolute paths).
    let storeCheckpoints: [String]

    init(
        checkpointID: Int64, keyed: [TaskSnapshot.KeyedEntry], operatorState: [TaskSnapshot.OperatorEntry],
        storeCheckpoints: [String] = []
    ) {
        self.checkpointID = checkpointID
        self.storeCheckpoints = storeCheckpoints
        self.keyed = Dictionary(grouping: keyed, by: \.name)
        self.operatorState = Dictionary(grouping: operatorState, by: \.name).mapValues { $0.map(\.value) }
    }

    /// Decodes the keyed entries of state `name`.
    public func keyedEntries<K: BinaryCodable, N: BinaryCodable, V: BinaryCodable>(
        _ name: String, key: K.Type, namespace: N.Type, value: V.Type
    ) throws(BinaryDecodingError) -> [(K, N, V)] {
        var result: [(K, N, V)] = []
        for entry in keyed[name] ?? [] {
            var k = BinaryReader(entry.key)
            var n = BinaryReader(entry.namespace)
            var v = BinaryReader(entry.value)
            result.append((try K(from: &k), try N(from: &n), try V(from: &v)))
        }
        return result
    }

    /// Every instance's value of operator state `name` (one per instance that wrote it before).
    public func operatorValues<V: BinaryCodable>(_ name: String, as type: V.Type) throws(BinaryDecodingError) -> [V] {
        var result: [V] = []
        for bytes in operatorState[name] ?? [] {
            var r = BinaryReader(bytes)
            result.append(try V(from: &r))
        }
        return result
    }

    var keyedNames: [String] { Array(keyed.keys) }
}
