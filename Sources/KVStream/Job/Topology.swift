import Foundation

/// A deployment: where a job's named sources and sinks are, and how it runs (SPEC section 6).
///
/// Loaded from a TOML file with `--set` overrides applied on top. The default file, `topology/local.toml`, is
/// also compiled in, so `kvstream run <job>` works from any directory.
public struct Topology: Sendable {
    public static let defaultPath = "topology/local.toml"

    public let settings: Settings
    /// The file it came from, or `(embedded topology/local.toml)`.
    public let origin: String

    public init(settings: Settings, origin: String) {
        self.settings = settings
        self.origin = origin
    }

    /// Reads `path` (the default file falls back to the embedded copy when missing) and applies `overrides`.
    public static func load(path: String?, overrides: [String]) throws(ConfigError) -> Topology {
        let file = path ?? defaultPath
        var settings: Settings
        var origin = file
        if path == nil && !FileManager.default.fileExists(atPath: file) {
            settings = try Settings.parse(toml: EmbeddedTopology.local, origin: "(embedded \(defaultPath))")
            origin = "(embedded \(defaultPath))"
        } else {
            settings = try Settings.load(file: file)
        }
        settings = try settings.applying(overrides: overrides)
        return Topology(settings: settings, origin: origin)
    }

    /// `job.parallelism`: instances of each operator unless the job says otherwise.
    public func parallelism() throws(ConfigError) -> Int {
        try positive("job.parallelism", default: 2)
    }

    /// `job.max_parallelism`: the number of key groups, the upper bound of any rescaling.
    public func maxParallelism() throws(ConfigError) -> Int {
        let value = try positive("job.max_parallelism", default: KeyGroup.defaultMaxParallelism)
        guard value <= 32_768 else { throw settings.error(at: "job.max_parallelism", "must be at most 32768") }
        return value
    }

    /// `checkpoint.dir`: where checkpoints go (`<dir>/<job>/chk-<id>`).
    public func checkpointDirectory() throws(ConfigError) -> String {
        try settings.string("checkpoint.dir") ?? "state/checkpoints"
    }

    /// `checkpoint.interval`: how often a checkpoint is triggered.
    public func checkpointInterval() throws(ConfigError) -> Duration {
        let interval = try settings.duration("checkpoint.interval") ?? .seconds(10)
        guard interval >= .milliseconds(10) else { throw settings.error(at: "checkpoint.interval", "must be at least 10ms") }
        return interval
    }

    /// `checkpoint.retained`: complete checkpoints kept.
    public func checkpointsRetained() throws(ConfigError) -> Int { try positive("checkpoint.retained", default: 3) }

    /// `checkpoint.timeout`: a checkpoint not complete after this long is abandoned.
    public func checkpointTimeout() throws(ConfigError) -> Duration {
        try settings.duration("checkpoint.timeout") ?? .seconds(600)
    }

    /// `state.backend`: where keyed state lives.
    public func stateBackend() throws(ConfigError) -> String {
        try settings.string("state.backend") ?? "memory"
    }

    /// `state.dir`: where the keyed state stores of running tasks live.
    public func stateDirectory() throws(ConfigError) -> String { try settings.string("state.dir") ?? "state/rocksdb" }

    /// `state.cache_entries`: entries per state kept in memory in front of the store.
    public func stateCacheEntries() throws(ConfigError) -> Int {
        try positive("state.cache_entries", default: 1_000_000)
    }

    /// `state.cache_mb`: the store's own block cache.
    public func stateCacheMegabytes() throws(ConfigError) -> Int { try positive("state.cache_mb", default: 256) }

    /// How the source `name` of a job is bound (`[sources.NAME]`).
    public func sourceBinding(_ name: String, bounded: Bool) throws(ConfigError) -> SourceBinding {
        let section = "sources.\(name)"
        guard settings.table(section) != nil else {
            throw settings.error(at: section, "is missing: the job reads a source named '\(name)'")
        }
        let type = try settings.requireString("\(section).type")
        switch type {
        case "file":
            let path = try settings.requireString("\(section).path")
            return .file(paths: try filePaths(path, key: "\(section).path"))
        case "generator":
            let splits = Int(try settings.integer("\(section).splits") ?? 1)
            guard splits >= 1 else { throw settings.error(at: "\(section).splits", "must be at least 1") }
            let rate = try settings.double("\(section).rate")
            if let rate, rate < 0 { throw settings.error(at: "\(section).rate", "must not be negative") }
            let count = try settings.integer("\(section).count").map(Int.init)
            if let count, count < 0 { throw settings.error(at: "\(section).count", "must not be negative") }
            if bounded && count == nil {
                throw settings.error(
                    at: "\(section).count",
                    "is needed with --bounded: a generator has no end of its own (e.g. --set \(section).count=100000)")
            }
            return .generator(
                splits: splits, rate: rate == 0 ? nil : rate, count: count,
                settings: settings.table(section) ?? Settings())
        case "kafka":
            // The Kafka runner (KVStreamKafka) binds Kafka sources itself: it owns the consumer group.
            throw settings.error(at: "\(section).type", "a Kafka source is bound by the Kafka runner, not here")
        default:
            throw settings.error(at: "\(section).type", "unknown source type \"\(type)\" (generator, file or kafka)")
        }
    }

    private func filePaths(_ path: String, key: String) throws(ConfigError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw settings.error(at: key, "no such file or directory: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".jsonl") }.sorted().map { "\(path)/\($0)" }
        guard !files.isEmpty else { throw settings.error(at: key, "directory \(path) holds no *.jsonl file") }
        return files
    }

    private func positive(_ key: String, default value: Int) throws(ConfigError) -> Int {
        let v = try settings.integer(key) ?? Int64(value)
        guard v >= 1, v <= Int64(Int32.max) else { throw settings.error(at: key, "must be a positive integer") }
        return Int(v)
    }
}

/// Makes sink connectors by type name; the `kvstream` executable registers the connectors it links.
public struct ConnectorRegistry: Sendable {
    public typealias SinkFactory = @Sendable (_ name: String, _ section: Settings, _ topology: Topology) throws -> any SinkConnector

    private var sinkFactories: [String: SinkFactory] = [:]
    private var stateStoreFactories: [String: StateStoreFactory] = [:]

    /// Registers a durable state backend (`state.backend = type`).
    public mutating func registerStateStore(type: String, _ factory: @escaping StateStoreFactory) {
        stateStoreFactories[type] = factory
    }

    func stateStore(_ type: String) -> StateStoreFactory? { stateStoreFactories[type] }

    public init() {
        registerSink(type: "jsonl") { name, section, _ in
            let throttle = try section.double("throttle_rows_per_second")
            if let throttle, throttle <= 0 {
                throw section.error(at: "throttle_rows_per_second", "must be positive")
            }
            return JSONLinesSinkConnector(directory: try section.string("path") ?? "out", configKey: section.fullKey("path"),
                                          throttleRowsPerSecond: throttle)
        }
    }

    public mutating func registerSink(type: String, _ factory: @escaping SinkFactory) { sinkFactories[type] = factory }

    /// The connector for sink `name` (`[sinks.NAME]`).
    public func sink(_ name: String, topology: Topology) throws -> any SinkConnector {
        let settings = topology.settings
        let section = "sinks.\(name)"
        guard let table = settings.table(section) else {
            throw settings.error(at: section, "is missing: the job writes a sink named '\(name)'")
        }
        let type = try settings.requireString("\(section).type")
        guard let factory = sinkFactories[type] else {
            let known = sinkFactories.keys.sorted().joined(separator: ", ")
            throw settings.error(at: "\(section).type", "sink type \"\(type)\" is not available in this build (have: \(known))")
        }
        return try factory(name, table, topology)
    }
}

/// Makes a task instance's state store in the given working directory.
public typealias StateStoreFactory = @Sendable (_ directory: String) throws -> StateStore
