/// Keeps the records for which a predicate holds: `stream.filter { $0.amountCents > 0 }`.
final class FilterOperator<Element: Sendable>: OneInputOperator<Element, Element> {
    let predicate: @Sendable (Element) -> Bool
    /// Made in `init` so the loop is specialized for the job's types (see ``WindowOperator``).
    private var handler: ((RecordBatch<Element>) -> Void)?

    init(output: Downstream<Element>, predicate: @escaping @Sendable (Element) -> Bool) {
        self.predicate = predicate
        super.init(output: output)
        handler = { [unowned self] batch in self.process(batch) }
    }

    override func push(_ batch: consuming RecordBatch<Element>) { handler?(batch) }

    private func process(_ batch: RecordBatch<Element>) {
        var kept = RecordBatch<Element>(reservingCapacity: batch.count)
        for i in 0..<batch.count where predicate(batch.values[i]) {
            kept.append(batch.values[i], timestamp: batch.timestamps[i])
        }
        if !kept.isEmpty { output.push(kept) }
    }
}
