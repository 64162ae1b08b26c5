/// Applies a function to every record: `stream.map { $0.amount }`.
final class MapOperator<Input: Sendable, Output: Sendable>: OneInputOperator<Input, Output> {
    let transform: @Sendable (Input) -> Output
    /// Made in `init` so the loop is specialized for the job's types (see ``WindowOperator``).
    private var handler: ((RecordBatch<Input>) -> Void)?

    init(output: Downstream<Output>, transform: @escaping @Sendable (Input) -> Output) {
        self.transform = transform
        super.init(output: output)
        handler = { [unowned self] batch in self.process(batch) }
    }

    override func push(_ batch: consuming RecordBatch<Input>) { handler?(batch) }

    private func process(_ batch: RecordBatch<Input>) {
        var values = [Output]()
        values.reserveCapacity(batch.count)
        for v in batch.values { values.append(transform(v)) }
        output.push(RecordBatch(values: values, timestamps: batch.timestamps))
    }
}
