/// Runs a ``KeyedProcessFunction`` for each record and fires its timers.
final class KeyedProcessOperator<F: KeyedProcessFunction>: OneInputOperator<F.Input, F.Output>, CheckpointParticipant {
    @exclusivity(unchecked) private var function: F
    private let keysOf: @Sendable (RecordBatch<F.Input>, inout [F.Key]) -> Void
    /// The keys of the batch being processed (capacity kept between batches).
    private var keyBuffer: [F.Key] = []
    private let context: KeyedContext<F.Key>
    private let operatorContext: OperatorContext
    @exclusivity(unchecked) private var out = Collector<F.Output>()
    /// Made in `init` so the loop is specialized for the job's types (see ``WindowOperator``).
    private var handler: ((RecordBatch<F.Input>) -> Void)?

    init(
        output: Downstream<F.Output>, function: F,
        keys: @escaping @Sendable (RecordBatch<F.Input>, inout [F.Key]) -> Void, operatorContext: OperatorContext
    ) {
        self.function = function
        keysOf = keys
        self.operatorContext = operatorContext
        context = KeyedContext(keyContext: KeyContext(), operatorContext: operatorContext)
        super.init(output: output)
        self.function.open(context)
        handler = { [unowned self] batch in self.process(batch) }
        operatorContext.registerForCheckpoints(self)
        restoreTimers()
    }

    private var eventTimersName: String { operatorContext.stateName("timers/event") }
    private var processingTimersName: String { operatorContext.stateName("timers/processing") }

    private func restoreTimers() {
        if let watermark = operatorContext.restoredWatermark() { context.currentWatermark = watermark }
        guard let restored = operatorContext.restored else { return }
        do {
            for (key, time, _) in try restored.keyedEntries(
                eventTimersName, key: F.Key.self, namespace: Int64.self, value: Bool.self)
            {
                context.eventTimers.register(time, key: key)
            }
            for (key, time, _) in try restored.keyedEntries(
                processingTimersName, key: F.Key.self, namespace: Int64.self, value: Bool.self)
            {
                context.processingTimers.register(time, key: key)
            }
        } catch {
            operatorContext.fail(ConnectorError("restoring timers of '\(operatorContext.operatorName)': \(error)"))
        }
    }

    /// Timers are keyed state: each goes to the key group of its key, so they follow their keys on rescale.
    func snapshotState(into builder: SnapshotBuilder) {
        operatorContext.snapshotWatermark(context.currentWatermark, into: builder)
        context.eventTimers.forEach { time, key in builder.addKeyed(eventTimersName, key: key, namespace: time, value: true) }
        context.processingTimers.forEach { time, key in
            builder.addKeyed(processingTimersName, key: key, namespace: time, value: true)
        }
    }

    override func push(_ batch: consuming RecordBatch<F.Input>) { handler?(batch) }

    private func process(_ batch: RecordBatch<F.Input>) {
        var keys = keyBuffer
        keyBuffer = []
        keysOf(batch, &keys)
        for i in 0..<batch.count {
            context.keyContext.current = keys[i]
            context.timestamp = batch.timestamps[i]
            out.timestamp = batch.timestamps[i]
            function.processElement(batch.values[i], context: context, out: &out)
        }
        keyBuffer = keys
        emit()
    }

    override func watermark(_ watermark: Int64) {
        context.currentWatermark = watermark
        while let (time, key) = context.eventTimers.popDue(upTo: watermark) {
            fire(time, key, .eventTime)
        }
        emit()
        output.watermark(watermark)
    }

    override func processingTime(_ now: Int64) {
        while let (time, key) = context.processingTimers.popDue(upTo: now) {
            fire(time, key, .processingTime)
        }
        emit()
        output.processingTime(now)
    }

    override func endOfInput() {
        // A drained input ends after the watermark reached the end of time, which fired the event-time timers;
        // processing-time timers would never come, so they fire now. A stopped job keeps them for its restart.
        if context.currentWatermark == Watermark.endOfTime {
            while let (time, key) = context.processingTimers.popDue(upTo: .max) {
                fire(time, key, .processingTime)
            }
        }
        emit()
        output.endOfInput()
    }

    private func fire(_ time: Int64, _ key: F.Key, _ domain: TimeDomain) {
        context.keyContext.current = key
        // Output of a processing-time timer has no event time of its own: it takes the watermark (nothing it
        // emits is late), or the firing time while no watermark arrived yet.
        let timestamp = domain == .eventTime ? time : (context.currentWatermark == Watermark.minimum ? time : context.currentWatermark)
        context.timestamp = timestamp
        out.timestamp = timestamp
        function.onTimer(time, domain: domain, context: context, out: &out)
    }

    private func emit() {
        operatorContext.flushSideOutputs()
        guard !out.batch.isEmpty else { return }
        output.push(out.take())
    }
}
