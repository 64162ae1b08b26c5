/// A stream partitioned by key: the input of keyed process functions and windows.
public struct KeyedStream<K: StateKey, T: Sendable> {
    let stream: Stream<T>
    let keyName: String
    let scope: KeyScope
    let key: @Sendable (T) -> K
    /// The keys of a whole batch, in order, replacing the array's contents: what the hash exchange, the window
    /// operator and the keyed process operator call.
    ///
    /// Formed by the inlinable ``Stream/keyBy(_:scope:_:)`` in the job's module, where `key` is the job's own
    /// closure: the compiler inlines it into this loop, which then reads the key's fields from the batch in place.
    /// Called per record from the runtime, `key` took a copy of each record (a payment: eight strings retained and
    /// released), ~5% of a Kafka job's CPU.
    let keys: @Sendable (RecordBatch<T>, inout [K]) -> Void

    @usableFromInline
    init(
        stream: Stream<T>, keyName: String, scope: KeyScope, key: @escaping @Sendable (T) -> K,
        keys: @escaping @Sendable (RecordBatch<T>, inout [K]) -> Void
    ) {
        self.stream = stream
        self.keyName = keyName
        self.scope = scope
        self.key = key
        self.keys = keys
    }

    func hashEdge() -> LogicalEdge {
        LogicalEdge(
            from: stream.node, port: stream.port, partitioning: .hash,
            keyGroupSelector: KeyGroupSelector<T>(keys: keys),
            keyDescription: keyName, keyScope: scope)
    }

    func addKeyedOperator<U: Sendable>(
        _ name: String, detail: String, stateful: Bool = true,
        make: @escaping @Sendable (OperatorContext, Downstream<U>) throws -> Downstream<T>
    ) -> Stream<U> {
        let node = stream.builder.addNode(
            name: name, kind: .operator, stateful: stateful, detail: detail, inputs: [hashEdge()], inputType: StreamType<T>(),
            outputType: StreamType<U>(),
            factory: .operator { context, output in try make(context, output as! Downstream<U>) })
        return Stream<U>(builder: stream.builder, node: node.id, port: nil)
    }

    /// Runs a keyed process function: per-key state and timers. `make` is called once per task instance.
    public func process<F: KeyedProcessFunction>(_ name: String, _ make: @escaping @Sendable () -> F) -> Stream<F.Output>
    where F.Key == K, F.Input == T {
        let keys = self.keys
        return addKeyedOperator(name, detail: "keyed process by \(keyName)") { context, output in
            KeyedProcessOperator(output: output, function: make(), keys: keys, operatorContext: context)
        }
    }

    /// Groups the keyed stream into event-time windows.
    public func window<A: WindowAssigner>(_ assigner: A) -> WindowedStream<K, T, A> {
        WindowedStream(keyed: self, assigner: assigner)
    }
}
