#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The configuration of a run: a deployment file's tree with the `--set` overrides applied, read by dotted key.
///
/// Keys are dotted paths as TOML writes them: `sources.payments.path`, or `sinks."odd.name".url` for a key
/// holding a dot. Typed readers (``integer(_:)``, ``duration(_:)``, ...) return `nil` for a missing key and throw
/// a ``ConfigError`` naming the full key for a value of the wrong type; the `require` readers also throw for a
/// missing key.
public struct Settings: Sendable, Equatable {
    /// The tree of values.
    public internal(set) var root: ConfigTable
    /// Where ``root`` sits in the whole configuration, so that errors from a ``table(_:)`` still name full keys.
    private let prefix: [String]

    /// Empty settings.
    public init() {
        self.init(root: ConfigTable())
    }

    /// Settings over a tree, as built-in defaults are written: `Settings(root: ["job": ["parallelism": 2]])`.
    public init(root: ConfigTable) {
        self.init(root: root, prefix: [])
    }

    private init(root: ConfigTable, prefix: [String]) {
        self.root = root
        self.prefix = prefix
    }

    /// Parses a deployment file's text; `origin` names the file in error messages.
    public static func parse(toml: String, origin: String) throws(ConfigError) -> Settings {
        Settings(root: try TOMLParser.parse(toml, origin: origin))
    }

    /// Reads and parses a deployment file; relative paths resolve against the current directory.
    public static func load(file path: String) throws(ConfigError) -> Settings {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw ConfigError(origin: path, line: nil, reason: reason)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigError(origin: path, line: nil, reason: "the file is not valid UTF-8")
        }
        return try parse(toml: text, origin: path)
    }

    /// Two settings are equal when their trees are; where they sit in a larger configuration does not count.
    public static func == (lhs: Settings, rhs: Settings) -> Bool {
        lhs.root == rhs.root
    }

    /// The value at a dotted path, `nil` when there is none; the empty path is the whole tree.
    public func value(at path: String) -> ConfigValue? {
        root.value(at: Self.keyParts(path))
    }

    /// The keys of the table at a dotted path, in file order; empty when there is no table there.
    public func keys(under path: String) -> [String] {
        value(at: path)?.tableValue?.keys ?? []
    }

    /// The table at a dotted path as settings of its own, whose errors still name full keys.
    public func table(_ path: String) -> Settings? {
        let parts = Self.keyParts(path)
        return root.value(at: parts)?.tableValue.map { Settings(root: $0, prefix: prefix + parts) }
    }

    /// These settings with `other`'s laid over them: `other`'s values win, tables present in both merge key by key.
    public func merging(_ other: Settings) -> Settings {
        Settings(root: root.merging(other.root), prefix: prefix)
    }

    /// The tree as TOML text, one `[section]` per table, for `kvstream describe` and debugging.
    public func render() -> String {
        TOMLRenderer.document(root)
    }

    /// The full dotted key of a path relative to these settings, as error messages name it.
    public func fullKey(_ path: String) -> String {
        fullKey(Self.keyParts(path))
    }

    func fullKey(_ parts: [String]) -> String {
        TOMLRenderer.keyPath(prefix + parts)
    }

    /// Splits a dotted path as TOML does, so that quoted parts may hold dots; a path TOML cannot read (`my key.x`)
    /// is split at its dots as written.
    static func keyParts(_ path: String) -> [String] {
        if path.isEmpty { return [] }
        if let parts = try? TOMLParser.parseKey(path, origin: "key") { return parts }
        return path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// The text without the spaces and tabs around it.
    static func trimmed(_ text: some StringProtocol) -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isBlank($0) }), let end = text.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(text[start...end])
    }
}
