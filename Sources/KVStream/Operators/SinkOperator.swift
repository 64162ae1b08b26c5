/// The end of a stream: hands rows to a ``SinkWriter``.
final class SinkOperator<Row: SinkRow>: Downstream<Row> {
    private let writer: SinkWriter
    private let context: OperatorContext
    private var failed = false

    init(writer: SinkWriter, context: OperatorContext) {
        self.writer = writer
        self.context = context
    }

    override func push(_ batch: RecordBatch<Row>) {
        guard !failed else { return }
        do {
            try writer.write(batch.values)
            context.metrics.recordsOut.add(batch.count, ordering: .relaxed)
        } catch {
            fail(error)
        }
    }

    override func barrier(_ barrier: CheckpointBarrier) {
        guard !failed else { return }
        do { try writer.flush() } catch { fail(error) }
    }

    override func endOfInput() {
        guard !failed else { return }
        do { try writer.close() } catch { fail(error) }
    }

    private func fail(_ error: any Error) {
        failed = true
        context.fail(error)
    }
}
