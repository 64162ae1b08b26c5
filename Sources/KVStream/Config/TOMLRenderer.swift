/// Writes configuration trees and values as TOML text that ``TOMLParser`` reads back to the same values.
enum TOMLRenderer {
    /// A whole document: the root's plain keys first, then one `[header]` section per table that has plain keys
    /// (or nothing at all), in key order. Tables holding only tables get no header of their own.
    static func document(_ root: ConfigTable) -> String {
        var out = ""
        appendTable(root, path: [], to: &out)
        return out
    }

    private static func appendTable(_ table: ConfigTable, path: [String], to out: inout String) {
        let entries = table.entries
        let plain = entries.filter { $0.value.tableValue == nil }
        if !path.isEmpty && (!plain.isEmpty || table.isEmpty) {
            if !out.isEmpty { out += "\n" }
            out += "[\(keyPath(path))]\n"
        }
        for (key, value) in plain {
            out += "\(self.key(key)) = \(inlineValue(value))\n"
        }
        for (key, value) in entries {
            if case .table(let child) = value { appendTable(child, path: path + [key], to: &out) }
        }
    }

    /// One value on one line: `"text"`, `12`, `2.5`, `true`, `[1, 2]`, `{ a = 1, b = "x" }`.
    static func inlineValue(_ value: ConfigValue) -> String {
        switch value {
        case .string(let text): string(text)
        case .integer(let number): String(number)
        case .float(let number): float(number)
        case .boolean(let flag): flag ? "true" : "false"
        case .array(let items): "[" + items.map(inlineValue).joined(separator: ", ") + "]"
        case .table(let table) where table.isEmpty: "{}"
        case .table(let table):
            "{ " + table.entries.map { "\(key($0.key)) = \(inlineValue($0.value))" }.joined(separator: ", ") + " }"
        }
    }

    /// A float as TOML writes it; Swift's own text (`2.0`, `1e-05`, `1e+20`) is already valid TOML.
    static func float(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        return "\(number)"
    }

    /// A basic string with the escapes TOML requires: quotes, backslashes and control characters.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A key bare when TOML allows it (`A-Za-z0-9_-`), quoted otherwise.
    static func key(_ key: String) -> String {
        let isBare = !key.isEmpty && key.utf8.allSatisfy(TOMLParser.isBareKeyByte)
        return isBare ? key : string(key)
    }

    /// A dotted path as a user would write it: `sources.payments."odd key"`.
    static func keyPath(_ path: some Sequence<String>) -> String {
        path.map(key).joined(separator: ".")
    }
}
