/// Emits zero or more records per record: `stream.flatMap { payment, out in ... out.emit(x) }`.
final class FlatMapOperator<Input: Sendable, Output: Sendable>: OneInputOperator<Input, Output> {
    let body: @Sendable (Input, inout Collector<Output>) -> Void
    /// Made in `init` so the loop is specialized for the job's types (see ``WindowOperator``).
    private var handler: ((RecordBatch<Input>) -> Void)?

    init(output: Downstream<Output>, body: @escaping @Sendable (Input, inout Collector<Output>) -> Void) {
        self.body = body
        super.init(output: output)
        handler = { [unowned self] batch in self.process(batch) }
    }

    override func push(_ batch: consuming RecordBatch<Input>) { handler?(batch) }

    private func process(_ batch: RecordBatch<Input>) {
        var collector = Collector<Output>()
        collector.batch.values.reserveCapacity(batch.count)
        collector.batch.timestamps.reserveCapacity(batch.count)
        for i in 0..<batch.count {
            collector.timestamp = batch.timestamps[i]
            body(batch.values[i], &collector)
        }
        if !collector.batch.isEmpty { output.push(collector.batch) }
    }
}
