/// A TOML table: keys mapped to ``ConfigValue``s, in the order they were first set.
///
/// The order is kept so that ``Settings/render()`` and ``Settings/keys(under:)`` follow the file; it does not take
/// part in equality, so a table merged from two files equals the same table written in one.
public struct ConfigTable: Sendable, Equatable {
    /// The keys, in the order they were first set.
    public private(set) var keys: [String] = []
    private var values: [String: ConfigValue] = [:]

    /// An empty table.
    public init() {}

    /// The number of keys.
    public var count: Int { keys.count }

    /// Whether the table has no key.
    public var isEmpty: Bool { keys.isEmpty }

    /// The keys and their values, in order.
    public var entries: [(key: String, value: ConfigValue)] {
        keys.compactMap { key in values[key].map { (key, $0) } }
    }

    /// The value of one key (not a dotted path); setting `nil` removes the key.
    public subscript(key: String) -> ConfigValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The value at a path of keys, each naming a table but the last; the empty path names this table.
    public func value(at path: some Collection<String>) -> ConfigValue? {
        guard let first = path.first else { return .table(self) }
        guard let value = values[first] else { return nil }
        if path.count == 1 { return value }
        guard case .table(let child) = value else { return nil }
        return child.value(at: path.dropFirst())
    }

    /// Sets the value at a path, creating the tables on the way and replacing what is not a table.
    mutating func setValue(_ value: ConfigValue, at path: ArraySlice<String>) {
        guard let first = path.first else { return }
        guard path.count > 1 else {
            self[first] = value
            return
        }
        var child = ConfigTable()
        if case .table(let existing)? = values[first] {
            child = existing
            // Drops the stored copy so that `child` is uniquely referenced and mutates in place.
            values[first] = .boolean(false)
        }
        child.setValue(value, at: path.dropFirst())
        self[first] = .table(child)
    }

    /// This table with `other`'s values laid over it: tables present in both merge key by key, any other value of
    /// `other` replaces this table's. Keys keep this table's order; new keys follow in `other`'s order.
    public func merging(_ other: ConfigTable) -> ConfigTable {
        var result = self
        for (key, value) in other.entries {
            if case .table(let mine)? = result[key], case .table(let theirs) = value {
                result[key] = .table(mine.merging(theirs))
            } else {
                result[key] = value
            }
        }
        return result
    }

    public static func == (lhs: ConfigTable, rhs: ConfigTable) -> Bool {
        lhs.values == rhs.values
    }
}

extension ConfigTable: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        for (key, value) in elements { self[key] = value }
    }
}
