/// Keeps the records for which a predicate holds: `stream.filter { $0.amountCents > 0 }`.
final class FilterOperator<Element: Sendable>: OneInputOperator<Element, Element> {
    let predicate: @Sendable (Element) -> Bool

    init(output: Downstream<Element>, predicate: @escaping @Sendable (Element) -> Bool) {
        self.predicate = predicate
        super.init(output: output)
    }

    override func push(_ batch: RecordBatch<Element>) {
        var kept = RecordBatch<Element>(reservingCapacity: batch.count)
        for i in 0..<batch.count where predicate(batch.values[i]) {
            kept.append(batch.values[i], timestamp: batch.timestamps[i])
        }
        if !kept.isEmpty { output.push(kept) }
    }
}
