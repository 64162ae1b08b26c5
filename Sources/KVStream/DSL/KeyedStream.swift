/// A stream partitioned by key: the input of keyed process functions and windows.
public struct KeyedStream<K: StateKey, T: Sendable> {
    let stream: Stream<T>
    let keyName: String
    let scope: KeyScope
    let key: @Sendable (T) -> K

    func hashEdge() -> LogicalEdge {
        LogicalEdge(
            from: stream.node, port: stream.port, partitioning: .hash,
            keyGroupSelector: KeyGroupSelector<T>(key: key),
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
        let key = self.key
        return addKeyedOperator(name, detail: "keyed process by \(keyName)") { context, output in
            KeyedProcessOperator(output: output, function: make(), key: key, operatorContext: context)
        }
    }

    /// Groups the keyed stream into event-time windows.
    public func window<A: WindowAssigner>(_ assigner: A) -> WindowedStream<K, T, A> {
        WindowedStream(keyed: self, assigner: assigner)
    }
}
