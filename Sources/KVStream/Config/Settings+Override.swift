/// `--set KEY=VALUE`: one key of the deployment file, changed from the command line.
extension Settings {
    /// Applies one `--set section.key=value` override. The value is parsed as a TOML value when it is one
    /// (`4` -> integer, `true` -> boolean, `"x"` -> string, `[1,2]` -> array, `2.5` -> float); otherwise it is taken
    /// as a bare string (`host:9092`, `file.jsonl`, `postgresql://127.0.0.1:5432/db`, `10s`). Intermediate tables
    /// are created.
    ///
    /// - Important: A value that starts with a quote must be a valid TOML string, and a table can only be replaced
    ///   by an inline table (`--set sources.payments={ type = "file", path = "x.jsonl" }`); both are likely typos
    ///   otherwise, and fail with a message naming the flag.
    public mutating func apply(override: String) throws(ConfigError) {
        let (key, value) = try Self.parseOverride(override)
        for end in 1..<key.count {
            let prefix = Array(key[..<end])
            if let existing = root.value(at: prefix), existing.tableValue == nil {
                throw Self.overrideError(override, "'\(fullKey(prefix))' is \(existing.kindDescription), not a table")
            }
        }
        if let existing = root.value(at: key)?.tableValue, value.tableValue == nil {
            let example = existing.keys.first.map { ", e.g. --set \(fullKey(key + [$0]))=..." } ?? ""
            throw Self.overrideError(override, "'\(fullKey(key))' is a table; set its keys one by one\(example)")
        }
        root.setValue(value, at: key[...])
    }

    /// These settings with the overrides applied in order, so the last one for a key wins.
    public func applying(overrides: some Sequence<String>) throws(ConfigError) -> Settings {
        var result = self
        for override in overrides { try result.apply(override: override) }
        return result
    }

    private static func parseOverride(_ text: String) throws(ConfigError) -> ([String], ConfigValue) {
        var parser = TOMLParser(text: text, origin: "--set")
        guard let key = try? parser.parseKey(), parser.peek == TOMLParser.Byte.equals else {
            throw overrideError(text, "expected KEY=VALUE with a dotted key such as sources.payments.path")
        }
        let raw = trimmed(String(decoding: parser.bytes[(parser.index + 1)...], as: UTF8.self))
        do throws(ConfigError) {
            return (key, try TOMLParser.parseValue(raw, origin: "--set"))
        } catch {
            if raw.hasPrefix("\"") || raw.hasPrefix("'") { throw overrideError(text, error.reason) }
            return (key, .string(raw))
        }
    }

    /// An error naming the whole flag: `--set job.parallelism.x=1: 'job.parallelism' is an integer, not a table`.
    private static func overrideError(_ override: String, _ reason: String) -> ConfigError {
        ConfigError(origin: "--set \(override)", line: nil, reason: reason)
    }
}
