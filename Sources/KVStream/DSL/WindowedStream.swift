/// A keyed stream grouped into windows, being configured; ``aggregate(_:_:_:)``, ``reduce(_:_:)`` or
/// ``process(_:_:)`` turns it into a stream of results.
public struct WindowedStream<K: StateKey, T: Sendable, A: WindowAssigner> {
    let keyed: KeyedStream<K, T>
    let assigner: A
    var spec = WindowSpec()

    /// Keeps windows open for late records this long after they fire; each such record updates the result.
    public func allowedLateness(_ lateness: TimeSpan) -> Self {
        var copy = self
        copy.spec.allowedLateness = lateness
        return copy
    }

    /// When results are emitted (default: once, when the watermark passes the window's end).
    public func trigger(_ trigger: WindowTrigger) -> Self {
        var copy = self
        copy.spec.trigger = trigger
        return copy
    }

    /// Sends records that arrive after the allowed lateness to a side output instead of dropping them.
    public func sideOutputLateData(_ tag: OutputTag<LateRecord<T>>) -> Self {
        var copy = self
        copy.spec.lateDataTag = tag.id
        return copy
    }

    /// Aggregates each window incrementally and maps each (key, window, result) to an output record.
    public func aggregate<F: AggregateFunction, Out: Sendable>(
        _ name: String, _ function: F, _ emit: @escaping @Sendable (K, TimeWindow, F.Output) -> Out
    ) -> Stream<Out> where F.Input == T, F.Accumulator: StateValue {
        process(name, function) { key, window, result, out in out.emit(emit(key, window, result)) }
    }

    /// Folds each window with a binary function.
    public func reduce<Out: Sendable>(
        _ name: String, _ combine: @escaping @Sendable (T, T) -> T,
        _ emit: @escaping @Sendable (K, TimeWindow, T) -> Out
    ) -> Stream<Out> where T: StateValue {
        aggregate(name, ReduceAggregate(combine), emit)
    }

    /// Calls `body` with all records of each window when it fires (keeps them in state until then).
    public func process<Out: Sendable>(
        _ name: String, _ body: @escaping @Sendable (K, TimeWindow, [T], inout Collector<Out>) -> Void
    ) -> Stream<Out> where T: StateValue {
        process(name, CollectAggregate<T>(), body)
    }

    /// The general form: aggregate incrementally, then emit any number of records per fired window.
    public func process<F: AggregateFunction, Out: Sendable>(
        _ name: String, _ function: F, _ emit: @escaping @Sendable (K, TimeWindow, F.Output, inout Collector<Out>) -> Void
    ) -> Stream<Out> where F.Input == T, F.Accumulator: StateValue {
        let spec = self.spec
        let assigner = self.assigner
        let key = keyed.key
        let keys = keyed.keys
        let detail = "\(assigner.description), lateness \(spec.allowedLateness), trigger \(spec.trigger)"
        if assigner.mergingGap != nil && spec.trigger.earlyFiringInterval != nil {
            keyed.stream.builder.record(JobDefinitionError(
                job: keyed.stream.builder.jobName, operatorName: name,
                "early firing is not supported on session windows (their end moves as records arrive)"))
        }
        let result: Stream<Out> = keyed.addKeyedOperator(name, detail: detail, stateful: true) { context, output in
            if let gap = assigner.mergingGap {
                return SessionWindowOperator(
                    output: output, gap: gap, function: function, key: key, spec: spec, emit: emit, context: context)
            }
            return WindowOperator(
                output: output, assigner: assigner, function: function, keys: keys, spec: spec, emit: emit,
                context: context)
        }
        if let tag = spec.lateDataTag {
            result.upstream.sidePorts.append((tag, StreamType<LateRecord<T>>()))
        }
        return result
    }
}
