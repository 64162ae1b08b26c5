/// A stream of records of one type in a job being declared.
///
/// Operations return new streams; nothing runs until the job is started. Adjacent operations with the same
/// parallelism run chained in one task, without crossing a thread.
public struct Stream<T: Sendable> {
    @usableFromInline let builder: JobBuilder
    let node: Int
    let port: String?

    var upstream: LogicalNode { builder.node(node) }

    func forwardEdge() -> LogicalEdge {
        LogicalEdge(from: node, port: port, partitioning: .forward, keyGroupSelector: nil, keyDescription: nil)
    }

    func addOperator<U: Sendable>(
        _ name: String, detail: String,
        make: @escaping @Sendable (OperatorContext, Downstream<U>) throws -> Downstream<T>
    ) -> Stream<U> {
        let node = builder.addNode(
            name: name, kind: .operator, detail: detail, inputs: [forwardEdge()], inputType: StreamType<T>(),
            outputType: StreamType<U>(),
            factory: .operator { context, output in try make(context, output as! Downstream<U>) })
        return Stream<U>(builder: builder, node: node.id, port: nil)
    }

    /// Transforms each record.
    public func map<U: Sendable>(_ name: String = "map", _ transform: @escaping @Sendable (T) -> U) -> Stream<U> {
        addOperator(name, detail: "map") { _, output in MapOperator(output: output, transform: transform) }
    }

    /// Keeps the records for which `predicate` holds.
    public func filter(_ name: String = "filter", _ predicate: @escaping @Sendable (T) -> Bool) -> Stream<T> {
        addOperator(name, detail: "filter") { _, output in FilterOperator(output: output, predicate: predicate) }
    }

    /// Emits any number of records per record through the collector.
    public func flatMap<U: Sendable>(
        _ name: String = "flatMap", _ body: @escaping @Sendable (T, inout Collector<U>) -> Void
    ) -> Stream<U> {
        addOperator(name, detail: "flatMap") { _, output in FlatMapOperator(output: output, body: body) }
    }

    /// Partitions the stream by key: records with equal keys go to the same task instance, where keyed state
    /// and timers are scoped to the key.
    /// Partitions the stream by key. `scope: .inputPartition` promises that all records of one key come from one
    /// partition of the input (the key contains the Kafka message key, as `customer_id` does for payments); a job
    /// whose keys all say so runs per input partition and scales out across machines (docs/scale-out.md).
    ///
    /// Inlinable so that the batch form of `key` (``KeyedStream/keys``) is formed where the job names it.
    @inlinable
    public func keyBy<K: StateKey>(
        _ keyName: String = "key", scope: KeyScope = .global, _ key: @escaping @Sendable (T) -> K
    ) -> KeyedStream<K, T> {
        KeyedStream(
            stream: self, keyName: keyName, scope: scope, key: key,
            keys: { batch, keys in
                keys.removeAll(keepingCapacity: true)
                for i in 0..<batch.count { keys.append(key(batch.values[i])) }
            })
    }

    /// Merges streams of the same type; the watermark is the minimum of the inputs'.
    public func union(_ others: Stream<T>...) -> Stream<T> {
        for other in others where other.builder !== builder {
            builder.record(JobDefinitionError(
                job: builder.jobName, operatorName: "union", "unites a stream of job '\(other.builder.jobName)'"))
        }
        let inputs = ([self] + others).map { $0.forwardEdge() }
        let node = builder.addNode(
            name: "union", kind: .operator, detail: "union of \(inputs.count)", inputs: inputs,
            inputType: StreamType<T>(), outputType: StreamType<T>(),
            factory: .operator { _, output in output })
        return Stream(builder: builder, node: node.id, port: nil)
    }

    /// The records an operator sent to the side output `tag`.
    public func sideOutput<S: Sendable>(_ tag: OutputTag<S>) -> Stream<S> {
        let source = upstream
        if let existing = source.sidePortType(tag.id) {
            if !(existing is StreamType<S>) {
                builder.record(JobDefinitionError(
                    job: builder.jobName, operatorName: source.name,
                    "side output '\(tag.id)' carries \(existing.name), read here as \(S.self)"))
            }
        } else {
            source.sidePorts.append((tag.id, StreamType<S>()))
        }
        return Stream<S>(builder: builder, node: node, port: tag.id)
    }

    /// Runs this operator (and what is chained to it) with its own number of instances.
    public func parallelism(_ parallelism: Int) -> Stream<T> {
        upstream.parallelism = parallelism
        return self
    }
}

extension Stream where T: SinkRow {
    /// Writes the stream to `table` of the sink the topology binds to `name` (`[sinks.NAME]`). An `optional` sink
    /// that the topology does not bind discards its rows (the `kafka` sink of jobs run without Kafka).
    @discardableResult
    public func sink(_ name: String, table: String, optional: Bool = false) -> SinkHandle {
        let node = builder.addNode(
            name: "sink:\(name)/\(table)", kind: .sink(name: name, table: table),
            detail: "\(T.schema.mode == .upsert ? "upsert" : "append") into \(table)", inputs: [forwardEdge()],
            inputType: StreamType<T>(), outputType: nil,
            factory: .sink { context, connector in
                let writer = try connector.makeWriter(
                    table: table, schema: T.schema, instance: context.instanceName, metrics: context.metrics)
                return SinkOperator<T>(writer: writer, context: context)
            })
        node.optionalSink = optional
        return SinkHandle(node: node.id)
    }
}

/// Refers to a declared sink.
public struct SinkHandle: Sendable {
    public let node: Int
}
