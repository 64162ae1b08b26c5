/// Holds the key that keyed state and timers refer to while a keyed function runs.
public final class KeyContext<K: StateKey> {
    @exclusivity(unchecked) @usableFromInline var current: K?

    init() {}

    /// The key of the record or timer being processed.
    public var key: K {
        guard let current else { preconditionFailure("keyed state is only available while a key is processed") }
        return current
    }
}

/// A state value with the time it expires, for states declared with a time-to-live.
public struct Expiring<V: StateValue>: StateValue {
    public var value: V
    /// Processing time after which the value is gone, epoch milliseconds (`Int64.max`: never).
    public var expiresAt: Int64

    public init(value: V, expiresAt: Int64) {
        self.value = value
        self.expiresAt = expiresAt
    }

    public func encode(to writer: inout BinaryWriter) {
        expiresAt.encode(to: &writer)
        value.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        expiresAt = try Int64(from: &reader)
        value = try V(from: &reader)
    }
}

/// A stored cell that may have expired (checked when snapshots export entries).
protocol ExpiringCell {
    func expired(at now: Int64) -> Bool
}

extension Expiring: ExpiringCell {
    func expired(at now: Int64) -> Bool { expiresAt <= now }
}

/// How long state lives after it was last written (Flink's `OnCreateAndWrite` / `NeverReturnExpired`): an
/// expired value is never returned, and is dropped when touched and when a snapshot exports the state.
struct TimeToLive: Sendable {
    let millis: Int64?

    /// When a value written now expires.
    func expiry() -> Int64 { millis.map { Clock.nowMillis() &+ $0 } ?? .max }

    /// The value unless it expired (then the cell is cleared).
    func live<V>(_ cell: inout Expiring<V>?) -> V? {
        guard let c = cell else { return nil }
        if millis != nil && c.expiresAt <= Clock.nowMillis() {
            cell = nil
            return nil
        }
        return c.value
    }
}

/// A single value per key.
public final class ValueState<K: StateKey, V: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, Expiring<V>>
    let context: KeyContext<K>
    let ttl: TimeToLive

    init(table: KeyedValueTable<K, VoidNamespace, Expiring<V>>, context: KeyContext<K>, ttl: TimeToLive) {
        self.table = table
        self.context = context
        self.ttl = ttl
    }

    /// The current key's value, or nil when none was set (or it expired).
    public var value: V? {
        guard ttl.millis != nil else { return table.get(context.key, VoidNamespace())?.value }
        return table.update(context.key, VoidNamespace()) { ttl.live(&$0) }
    }

    public func update(_ value: V?) {
        if let value { table.put(context.key, VoidNamespace(), Expiring(value: value, expiresAt: ttl.expiry())) }
        else { clear() }
    }

    /// Changes the value in place with one lookup.
    public func modify<R>(_ body: (inout V?) -> R) -> R {
        table.update(context.key, VoidNamespace()) { cell in
            var value = ttl.live(&cell)
            cell = nil
            let result = body(&value)
            cell = value.map { Expiring(value: $0, expiresAt: ttl.expiry()) }
            return result
        }
    }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}

/// A list of values per key.
public final class ListState<K: StateKey, V: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, Expiring<[V]>>
    let context: KeyContext<K>
    let ttl: TimeToLive

    init(table: KeyedValueTable<K, VoidNamespace, Expiring<[V]>>, context: KeyContext<K>, ttl: TimeToLive) {
        self.table = table
        self.context = context
        self.ttl = ttl
    }

    public var values: [V] { table.update(context.key, VoidNamespace()) { ttl.live(&$0) } ?? [] }

    public func append(_ value: V) { modify { $0.append(value) } }

    public func update(_ values: [V]) { modify { $0 = values } }

    /// Changes the list in place (e.g. to drop a prefix) with one lookup; an emptied list is removed.
    public func modify<R>(_ body: (inout [V]) -> R) -> R {
        table.update(context.key, VoidNamespace()) { cell in
            // Taken out of the table first so that changing the list does not copy a shared buffer.
            var list = ttl.live(&cell) ?? []
            cell = nil
            let result = body(&list)
            cell = list.isEmpty ? nil : Expiring(value: list, expiresAt: ttl.expiry())
            return result
        }
    }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}

/// A map of user keys to values per key.
public final class MapState<K: StateKey, UK: StateKey, UV: StateValue> {
    let table: KeyedValueTable<K, VoidNamespace, Expiring<MapStateEntries<UK, UV>>>
    let context: KeyContext<K>
    let ttl: TimeToLive

    init(
        table: KeyedValueTable<K, VoidNamespace, Expiring<MapStateEntries<UK, UV>>>, context: KeyContext<K>,
        ttl: TimeToLive
    ) {
        self.table = table
        self.context = context
        self.ttl = ttl
    }

    public subscript(userKey: UK) -> UV? {
        get { entries[userKey] }
        set {
            table.update(context.key, VoidNamespace()) { cell in
                var map = ttl.live(&cell) ?? MapStateEntries()
                cell = nil
                map.entries[userKey] = newValue
                cell = map.entries.isEmpty ? nil : Expiring(value: map, expiresAt: ttl.expiry())
            }
        }
    }

    public var entries: [UK: UV] { table.update(context.key, VoidNamespace()) { ttl.live(&$0) }?.entries ?? [:] }

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
    let table: KeyedValueTable<K, VoidNamespace, Expiring<F.Accumulator>>
    let context: KeyContext<K>
    let function: F
    let ttl: TimeToLive

    init(
        table: KeyedValueTable<K, VoidNamespace, Expiring<F.Accumulator>>, context: KeyContext<K>, function: F,
        ttl: TimeToLive
    ) {
        self.table = table
        self.context = context
        self.function = function
        self.ttl = ttl
    }

    public func add(_ value: F.Input) {
        table.update(context.key, VoidNamespace()) { cell in
            var a = ttl.live(&cell) ?? function.createAccumulator()
            cell = nil
            function.add(value, to: &a)
            cell = Expiring(value: a, expiresAt: ttl.expiry())
        }
    }

    /// The aggregate of the values added for the current key, or nil when there were none (or they expired).
    public var result: F.Output? {
        table.update(context.key, VoidNamespace()) { ttl.live(&$0) }.map(function.result)
    }

    public func clear() { table.remove(context.key, VoidNamespace()) }
}
