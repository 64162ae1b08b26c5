/// Event-time session windows: per key, records closer than the gap share a window, and windows merge when a
/// record bridges them. Sessions fire when the watermark passes their end and are dropped after the allowed
/// lateness, as in ``WindowOperator``.
final class SessionWindowOperator<K: StateKey, F: AggregateFunction, Output: Sendable>:
    OneInputOperator<F.Input, Output>, CheckpointParticipant
where F.Input: Sendable, F.Accumulator: StateValue {
    typealias Emit = @Sendable (K, TimeWindow, F.Output, inout Collector<Output>) -> Void

    private let gap: Int64
    private let function: F
    private let keySelector: @Sendable (F.Input) -> K
    private let emitResult: Emit
    private let lateness: Int64
    private let table: KeyedValueTable<K, VoidNamespace, SessionList<F.Accumulator>>
    private let context: OperatorContext
    private var late: LateData<F.Input>
    private var timers = TimerQueue<K>()
    private var watermark = Watermark.minimum
    private var out = Collector<Output>()
    /// Made in `init` so the loop is specialized for the job's types (see ``WindowOperator``).
    private var handler: ((RecordBatch<F.Input>) -> Void)?

    init(
        output: Downstream<Output>, gap: TimeSpan, function: F, key: @escaping @Sendable (F.Input) -> K,
        spec: WindowSpec, emit: @escaping Emit, context: OperatorContext
    ) {
        self.gap = gap.milliseconds
        self.function = function
        keySelector = key
        emitResult = emit
        lateness = spec.allowedLateness.milliseconds
        table = context.stateBackend.valueTable(
            context.stateName("sessions"), key: K.self, namespace: VoidNamespace.self,
            value: SessionList<F.Accumulator>.self)
        self.context = context
        late = LateData(spec: spec, context: context)
        super.init(output: output)
        handler = { [unowned self] batch in self.process(batch) }
        context.registerForCheckpoints(self)
        if let restored = context.restoredWatermark() { watermark = restored }
        // Timers follow from the restored sessions: each fires at its end and is dropped after the lateness.
        table.forEach { key, _, list in
            for session in list.sessions {
                timers.register(session.window.maxTimestamp, key: key)
                timers.register(min(session.window.maxTimestamp, Int64.max - lateness) + lateness, key: key)
            }
        }
    }

    override func push(_ batch: consuming RecordBatch<F.Input>) { handler?(batch) }

    private func process(_ batch: RecordBatch<F.Input>) {
        for i in 0..<batch.count {
            let value = batch.values[i]
            let timestamp = batch.timestamps[i]
            let key = keySelector(value)
            if !add(value, timestamp: timestamp, key: key) {
                late.record(value, timestamp: timestamp, watermark: watermark)
            }
        }
        late.count()
        emit()
    }

    /// Adds a record to its session, merging sessions it bridges; false when the merged session is too late.
    private func add(_ value: F.Input, timestamp: Int64, key: K) -> Bool {
        table.update(key, VoidNamespace()) { stored -> Bool in
            var list = stored.take() ?? SessionList()
            defer { stored = list.sessions.isEmpty ? nil : list }
            var merged = TimeWindow(start: timestamp, end: timestamp + gap)
            var accumulator = function.createAccumulator()
            var firedBefore = false
            var absorbed: [Int] = []
            for (index, session) in list.sessions.enumerated() where session.window.intersects(merged) {
                merged = merged.cover(session.window)
                absorbed.append(index)
            }
            // Too late when the merged session closed for good (saturating: sessions near the end of time never do).
            let closesAt = merged.maxTimestamp.addingReportingOverflow(lateness)
            guard closesAt.overflow || closesAt.partialValue > watermark else { return false }
            for index in absorbed {
                accumulator = function.merge(accumulator, list.sessions[index].accumulator)
                firedBefore = firedBefore || list.sessions[index].fired
            }
            for index in absorbed.reversed() { list.sessions.remove(at: index) }
            function.add(value, to: &accumulator)
            let firesNow = merged.maxTimestamp <= watermark
            if firesNow {
                out.timestamp = merged.maxTimestamp
                emitResult(key, merged, function.result(accumulator), &out)
            }
            list.sessions.append(Session(window: merged, accumulator: accumulator, fired: firedBefore || firesNow))
            timers.register(merged.maxTimestamp, key: key)
            timers.register(merged.maxTimestamp.addingReportingOverflow(lateness).overflow
                            ? Int64.max : merged.maxTimestamp + lateness, key: key)
            return true
        }
    }

    override func watermark(_ watermark: Int64) {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        while let (_, key) = timers.popDue(upTo: watermark) {
            table.update(key, VoidNamespace()) { stored in
                guard var list = stored.take() else { return }
                for i in list.sessions.indices where !list.sessions[i].fired
                    && list.sessions[i].window.maxTimestamp <= watermark
                {
                    list.sessions[i].fired = true
                    out.timestamp = list.sessions[i].window.maxTimestamp
                    emitResult(key, list.sessions[i].window, function.result(list.sessions[i].accumulator), &out)
                }
                list.sessions.removeAll {
                    $0.window.maxTimestamp <= Int64.max - lateness && $0.window.maxTimestamp + lateness <= watermark
                }
                stored = list.sessions.isEmpty ? nil : list
            }
        }
        emit()
        output.watermark(watermark)
    }

    override func endOfInput() {
        emit()
        output.endOfInput()
    }

    func snapshotState(into builder: SnapshotBuilder) { context.snapshotWatermark(watermark, into: builder) }

    private func emit() {
        context.flushSideOutputs()
        guard !out.batch.isEmpty else { return }
        output.push(out.take())
    }
}

/// One session of a key.
struct Session<A: StateValue>: StateValue {
    var window: TimeWindow
    var accumulator: A
    var fired: Bool

    init(window: TimeWindow, accumulator: A, fired: Bool) {
        self.window = window
        self.accumulator = accumulator
        self.fired = fired
    }

    func encode(to writer: inout BinaryWriter) {
        window.encode(to: &writer)
        fired.encode(to: &writer)
        accumulator.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        window = try TimeWindow(from: &reader)
        fired = try Bool(from: &reader)
        accumulator = try A(from: &reader)
    }
}

/// The open sessions of one key.
struct SessionList<A: StateValue>: StateValue {
    var sessions: [Session<A>] = []

    init() {}

    func encode(to writer: inout BinaryWriter) { sessions.encode(to: &writer) }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) { sessions = try [Session<A>](from: &reader) }
}
