import Synchronization

/// A function over a keyed stream with keyed state and timers, called one record at a time.
///
/// Each task instance makes its own function from the factory given to ``KeyedStream/process(_:_:)``, so a
/// function's state handles and fields never cross threads. State handles are created in ``open(_:)`` from the
/// context and kept in the function; they always refer to the key being processed. Timers are per key: ``onTimer(_:domain:context:out:)`` runs with that key current.
///
/// ```swift
/// struct CountPerKey: KeyedProcessFunction {
///     var count: ValueState<String, Int64>!
///     mutating func open(_ context: KeyedContext<String>) { count = context.valueState("count") }
///     mutating func processElement(_ value: Payment, context: KeyedContext<String>, out: inout Collector<Int64>) {
///         let n = (count.value ?? 0) + 1
///         count.update(n)
///         out.emit(n)
///     }
/// }
/// ```
public protocol KeyedProcessFunction<Key, Input, Output>: SendableMetatype {
    associatedtype Key: StateKey
    associatedtype Input: Sendable
    associatedtype Output: Sendable

    mutating func open(_ context: KeyedContext<Key>)
    mutating func processElement(_ value: Input, context: KeyedContext<Key>, out: inout Collector<Output>)
    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<Key>,
                          out: inout Collector<Output>)
}

extension KeyedProcessFunction {
    public mutating func open(_ context: KeyedContext<Key>) {}
    public mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<Key>,
                                 out: inout Collector<Output>) {}
}

/// What a ``KeyedProcessFunction`` sees of the runtime: the current key and time, state, timers, side outputs.
public final class KeyedContext<K: StateKey> {
    let keyContext: KeyContext<K>
    let operatorContext: OperatorContext
    var eventTimers = TimerQueue<K>()
    var processingTimers = TimerQueue<K>()
    /// Event time of the record or timer being processed.
    @exclusivity(unchecked) public internal(set) var timestamp: Int64 = 0
    /// The operator's current watermark.
    public internal(set) var currentWatermark: Int64 = Watermark.minimum
    /// Wall-clock time now, epoch milliseconds (timers fire on the task's ticks, every 100 ms).
    public var currentProcessingTime: Int64 { Clock.nowMillis() }

    init(keyContext: KeyContext<K>, operatorContext: OperatorContext) {
        self.keyContext = keyContext
        self.operatorContext = operatorContext
    }

    /// The key being processed.
    public var key: K { keyContext.key }

    public var subtask: Int { operatorContext.subtask }

    // MARK: State

    private func table<V: StateValue>(_ name: String, _ type: V.Type) -> KeyedValueTable<K, VoidNamespace, Expiring<V>> {
        operatorContext.stateBackend.valueTable(
            operatorContext.stateName(name), key: K.self, namespace: VoidNamespace.self, value: Expiring<V>.self)
    }

    /// A value per key; with `ttl`, a value expires that long (processing time) after it was last written.
    public func valueState<V: StateValue>(_ name: String, of type: V.Type = V.self, ttl: TimeSpan? = nil)
        -> ValueState<K, V>
    {
        ValueState(table: table(name, V.self), context: keyContext, ttl: TimeToLive(millis: ttl?.milliseconds))
    }

    public func listState<V: StateValue>(_ name: String, of type: V.Type = V.self, ttl: TimeSpan? = nil)
        -> ListState<K, V>
    {
        ListState(table: table(name, [V].self), context: keyContext, ttl: TimeToLive(millis: ttl?.milliseconds))
    }

    public func mapState<UK: StateKey, UV: StateValue>(
        _ name: String, key: UK.Type = UK.self, value: UV.Type = UV.self, ttl: TimeSpan? = nil
    ) -> MapState<K, UK, UV> {
        MapState(table: table(name, MapStateEntries<UK, UV>.self), context: keyContext,
                 ttl: TimeToLive(millis: ttl?.milliseconds))
    }

    public func aggregatingState<F: AggregateFunction>(_ name: String, _ function: F, ttl: TimeSpan? = nil)
        -> AggregatingState<K, F>
    where F.Accumulator: StateValue {
        AggregatingState(table: table(name, F.Accumulator.self), context: keyContext, function: function,
                         ttl: TimeToLive(millis: ttl?.milliseconds))
    }

    // MARK: Timers

    /// Calls `onTimer` for the current key once the watermark reaches `time`.
    public func registerEventTimeTimer(_ time: Int64) { eventTimers.register(time, key: key) }
    public func deleteEventTimeTimer(_ time: Int64) { eventTimers.delete(time, key: key) }
    /// Calls `onTimer` for the current key once processing time reaches `time` (epoch milliseconds).
    public func registerProcessingTimeTimer(_ time: Int64) { processingTimers.register(time, key: key) }
    public func deleteProcessingTimeTimer(_ time: Int64) { processingTimers.delete(time, key: key) }

    // MARK: Side outputs and metrics

    /// Counts one record the function refused as later than it accepts, in `kvstream_records_late_total`
    /// (as a window operator counts the records it drops); the function sends the record where it wants.
    public func countLateRecord() { operatorContext.metrics.recordsLate.add(1, ordering: .relaxed) }

    /// Emits a record to a side output; it has the current timestamp.
    public func output<S: Sendable>(_ tag: OutputTag<S>, _ value: S) {
        operatorContext.sideOutputs.port(tag)?.emit(value, timestamp: timestamp)
    }
}
