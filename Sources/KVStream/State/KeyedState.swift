/// Holds the key that keyed state and timers refer to while a keyed function runs.
public final class KeyContext<K: StateKey> {
    @usableFromInline var current: K?

    init() {}

    /// The key of the record or timer being processed.
    public var key: K {
        guard let current else { preconditionFailure("keyed state is only available while a key is processed") }
        return current
    }
}

/// A single value per key.
public final class ValueState<K: StateKey, V: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, V>
    let context: KeyContext<K>

    init(table: KeyedValueTable<K, VoidNamespace, V>, context: KeyContext<K>) {
        self.table = table
        self.context = context
    }

    /// The current key's value, or nil when none was set.
    public var value: V? { table.get(context.key, VoidNamespace()) }

    public func update(_ value: V?) {
        if let value { table.put(context.key, VoidNamespace(), value) } else { clear() }
    }

    /// Changes the value in place with one lookup.
    public func modify<R>(_ body: (inout V?) -> R) -> R { table.update(context.key, VoidNamespace(), body) }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}

/// A list of values per key.
public final class ListState<K: StateKey, V: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, [V]>
    let context: KeyContext<K>

    init(table: KeyedValueTable<K, VoidNamespace, [V]>, context: KeyContext<K>) {
        self.table = table
        self.context = context
    }

    public var values: [V] { table.get(context.key, VoidNamespace()) ?? [] }

    public func append(_ value: V) {
        table.update(context.key, VoidNamespace()) { stored in
            // Taken out of the table first so the append does not copy a shared buffer.
            var list = stored.take() ?? []
            list.append(value)
            stored = list
        }
    }

    public func update(_ values: [V]) {
        if values.isEmpty { clear() } else { table.put(context.key, VoidNamespace(), values) }
    }

    /// Changes the list in place (e.g. to drop a prefix) with one lookup; an emptied list is removed.
    public func modify<R>(_ body: (inout [V]) -> R) -> R {
        table.update(context.key, VoidNamespace()) { stored in
            var list = stored.take() ?? []
            let result = body(&list)
            stored = list.isEmpty ? nil : list
            return result
        }
    }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}

/// A map of user keys to values per key.
public final class MapState<K: StateKey, UK: StateKey, UV: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, MapStateEntries<UK, UV>>
    let context: KeyContext<K>

    init(table: KeyedValueTable<K, VoidNamespace, MapStateEntries<UK, UV>>, context: KeyContext<K>) {
        self.table = table
        self.context = context
    }

    public subscript(userKey: UK) -> UV? {
        get { table.get(context.key, VoidNamespace())?.entries[userKey] }
        set {
            table.update(context.key, VoidNamespace()) { stored in
                var map = stored.take() ?? MapStateEntries()
                map.entries[userKey] = newValue
                stored = map.entries.isEmpty ? nil : map
            }
        }
    }

    public var entries: [UK: UV] { table.get(context.key, VoidNamespace())?.entries ?? [:] }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}

/// The stored form of a ``MapState`` entry.
public struct MapStateEntries<UK: StateKey, UV: StateValue>: StateValue {
    public var entries: [UK: UV] = [:]

    public init() {}

    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(entries.count))
        // Sorted by encoded key so that equal maps encode to equal bytes.
        var encoded: [([UInt8], UV)] = entries.map { key, value in
            var w = BinaryWriter()
            key.encode(to: &w)
            return (w.bytes, value)
        }
        encoded.sort { $0.0.lexicographicallyPrecedes($1.0) }
        for (key, value) in encoded {
            key.withUnsafeBytes { writer.write(raw: $0) }
            value.encode(to: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        let count = Int(try reader.readVarint())
        for _ in 0..<count {
            let key = try UK(from: &reader)
            entries[key] = try UV(from: &reader)
        }
    }
}

/// An incrementally aggregated value per key.
public final class AggregatingState<K: StateKey, F: AggregateFunction> where F.Accumulator: StateValue {
    let table: KeyedValueTable<K, VoidNamespace, F.Accumulator>
    let context: KeyContext<K>
    let function: F

    init(table: KeyedValueTable<K, VoidNamespace, F.Accumulator>, context: KeyContext<K>, function: F) {
        self.table = table
        self.context = context
        self.function = function
    }

    public func add(_ value: F.Input) {
        table.update(context.key, VoidNamespace()) { acc in
            var a = acc.take() ?? function.createAccumulator()
            function.add(value, to: &a)
            acc = a
        }
    }

    /// The aggregate of the values added for the current key, or nil when there were none.
    public var result: F.Output? { table.get(context.key, VoidNamespace()).map(function.result) }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}
