/// Where headers and keys put their tables and values, and the TOML v1.0 rules on defining each only once.
extension TOMLParser {
    /// Defines the table of a `[header]`, creating the tables on the way to it.
    mutating func defineTable(_ path: [String]) throws(ConfigError) {
        for end in 1...path.count {
            let prefix = Array(path[..<end])
            let isTarget = end == path.count
            switch root.value(at: prefix) {
            case nil:
                root.setValue(.table(ConfigTable()), at: prefix[...])
                tableKinds[prefix] = isTarget ? .header : .implicit
                definedAt[prefix] = line
            case .table?:
                // Tables nested in inline tables are not tracked; they are as closed as their parent.
                let kind = tableKinds[prefix] ?? .inline
                if kind == .inline {
                    throw error("cannot add to inline table '\(keyPath(prefix))'\(definedNote(prefix))")
                }
                guard isTarget else { continue }
                guard kind == .implicit else {
                    let how = kind == .dotted ? " by dotted keys" : ""
                    throw error("table [\(keyPath(path))] is already defined\(how)\(atLine(prefix))")
                }
                tableKinds[prefix] = .header
                definedAt[prefix] = line
            case let other?:
                throw error(
                    "'\(keyPath(prefix))' is already \(other.kindDescription)\(definedNote(prefix)); "
                        + "it cannot also be a table")
            }
        }
    }

    /// Stores the value of a `key = value` line in the current table, creating the tables of a dotted key.
    mutating func insert(_ value: ConfigValue, at key: [String], line keyLine: Int) throws(ConfigError) {
        let fullKey = current + key
        var path = current
        for part in key.dropLast() {
            path.append(part)
            switch root.value(at: path) {
            case nil:
                root.setValue(.table(ConfigTable()), at: path[...])
                tableKinds[path] = .dotted
                definedAt[path] = keyLine
            case .table?:
                switch tableKinds[path] ?? .inline {
                case .dotted: break
                case .implicit:
                    // Only implied by a deeper header so far; these dotted keys define it, closing it to headers.
                    tableKinds[path] = .dotted
                    definedAt[path] = keyLine
                case .header:
                    throw error(
                        "cannot set '\(keyPath(fullKey))' with a dotted key: table [\(keyPath(path))] is defined "
                            + "by its header\(atLine(path))", line: keyLine)
                case .inline:
                    throw error(
                        "cannot add '\(keyPath(fullKey))' to inline table '\(keyPath(path))'\(definedNote(path))",
                        line: keyLine)
                }
            case let other?:
                throw error(
                    "cannot set '\(keyPath(fullKey))': '\(keyPath(path))' is already \(other.kindDescription)"
                        + definedNote(path), line: keyLine)
            }
        }
        guard root.value(at: fullKey) == nil else {
            throw error("duplicate key '\(keyPath(fullKey))'\(definedNote(fullKey, as: "first set"))", line: keyLine)
        }
        root.setValue(value, at: fullKey[...])
        definedAt[fullKey] = keyLine
        if case .table = value { tableKinds[fullKey] = .inline }
    }

    /// Stores one `key = value` of an inline table; only tables made by this table's own dotted keys may grow.
    func insert(
        _ value: ConfigValue, at key: [String], into table: inout ConfigTable, dottedTables: inout Set<[String]>
    ) throws(ConfigError) {
        for end in 1..<key.count {
            let prefix = Array(key[..<end])
            switch table.value(at: prefix) {
            case nil:
                table.setValue(.table(ConfigTable()), at: prefix[...])
                dottedTables.insert(prefix)
            case .table? where dottedTables.contains(prefix): continue
            default: throw error("duplicate key '\(keyPath(prefix))' in inline table")
            }
        }
        guard table.value(at: key) == nil else { throw error("duplicate key '\(keyPath(key))' in inline table") }
        table.setValue(value, at: key[...])
    }

    /// " (defined at line 3)" when the path's first definition is known.
    private func definedNote(_ path: [String], as verb: String = "defined") -> String {
        definedAt[path].map { " (\(verb) at line \($0))" } ?? ""
    }

    /// " at line 3" when the path's first definition is known.
    private func atLine(_ path: [String]) -> String {
        definedAt[path].map { " at line \($0)" } ?? ""
    }
}
