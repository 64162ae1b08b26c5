/// Typed readers: each returns `nil` for a missing key and throws a ``ConfigError`` naming the full key for a value
/// it cannot read as the type asked for.
extension Settings {
    /// A string; integers, floats and booleans are read as their TOML text (`4`, `2.5`, `true`).
    public func string(_ path: String) throws(ConfigError) -> String? {
        guard let value = value(at: path) else { return nil }
        switch value {
        case .string(let text): return text
        case .integer, .float, .boolean: return TOMLRenderer.inlineValue(value)
        case .array, .table: throw mismatch(path, expected: "a string", got: value)
        }
    }

    /// An integer, or a string holding one as TOML writes it (`"4"`, `"1_000"`, `"0x1F"`).
    public func integer(_ path: String) throws(ConfigError) -> Int64? {
        guard let value = value(at: path) else { return nil }
        switch value {
        case .integer(let number): return number
        case .string(let text): if case .integer(let number) = Self.scalar(in: text) { return number }
        default: break
        }
        throw mismatch(path, expected: "an integer", got: value)
    }

    /// A float, an integer, or a string holding either.
    public func double(_ path: String) throws(ConfigError) -> Double? {
        guard let value = value(at: path) else { return nil }
        switch value {
        case .float(let number): return number
        case .integer(let number): return Double(number)
        case .string(let text):
            switch Self.scalar(in: text) {
            case .float(let number): return number
            case .integer(let number): return Double(number)
            default: break
            }
        default: break
        }
        throw mismatch(path, expected: "a number", got: value)
    }

    /// A boolean, or the string `"true"` or `"false"`.
    public func bool(_ path: String) throws(ConfigError) -> Bool? {
        guard let value = value(at: path) else { return nil }
        switch value {
        case .boolean(let flag): return flag
        case .string("true"): return true
        case .string("false"): return false
        default: throw mismatch(path, expected: "true or false", got: value)
        }
    }

    /// An array of any values.
    public func array(_ path: String) throws(ConfigError) -> [ConfigValue]? {
        guard let value = value(at: path) else { return nil }
        guard case .array(let items) = value else { throw mismatch(path, expected: "an array", got: value) }
        return items
    }

    /// The string at `path`; throws when it is missing.
    public func requireString(_ path: String) throws(ConfigError) -> String {
        try require(path, string(path))
    }

    /// The integer at `path`; throws when it is missing.
    public func requireInteger(_ path: String) throws(ConfigError) -> Int64 {
        try require(path, integer(path))
    }

    /// The number at `path`; throws when it is missing.
    public func requireDouble(_ path: String) throws(ConfigError) -> Double {
        try require(path, double(path))
    }

    /// The boolean at `path`; throws when it is missing.
    public func requireBool(_ path: String) throws(ConfigError) -> Bool {
        try require(path, bool(path))
    }

    /// The duration at `path`; throws when it is missing.
    public func requireDuration(_ path: String) throws(ConfigError) -> Duration {
        try require(path, duration(path))
    }

    /// The table at `path` as settings of its own; throws when it is missing or not a table.
    public func requireTable(_ path: String) throws(ConfigError) -> Settings {
        if let table = table(path) { return table }
        guard let value = value(at: path) else { throw error(at: path, "missing required table") }
        throw mismatch(path, expected: "a table", got: value)
    }

    /// A value read by any reader, or an error naming the key when there is none: `try require("x", integer("x"))`.
    public func require<Value>(_ path: String, _ value: Value?) throws(ConfigError) -> Value {
        guard let value else { throw error(at: path, "missing required key") }
        return value
    }

    /// An error about the key at `path`, named in full: `sources.payments.type: expected "kafka" or "file"`.
    public func error(at path: String, _ reason: String) -> ConfigError {
        ConfigError(key: fullKey(path), reason: reason)
    }

    func mismatch(_ path: String, expected: String, got value: ConfigValue) -> ConfigError {
        error(at: path, "expected \(expected), got \(value.errorDescription)")
    }

    /// The scalar a string holds when read as TOML (`"42"` holds 42), `nil` when it holds none.
    static func scalar(in text: String) -> ConfigValue? {
        try? TOMLParser.parseValue(text, origin: "value")
    }
}
