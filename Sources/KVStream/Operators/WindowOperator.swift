/// Event-time windows with incremental aggregation, for assigners whose windows do not merge
/// (tumbling, sliding).
///
/// State is one accumulator per (window, key). A window fires for all its keys when the watermark passes its
/// end, and is dropped once the watermark passes its end plus the allowed lateness. A record for a window that
/// already fired but is still within the allowed lateness updates the accumulator and emits the updated result
/// at once. A record for which every window is past the allowed lateness is late: counted, and sent to the late
/// side output when the job asked for one.
///
/// ## Early firing
///
/// With ``WindowTrigger/earlyFiring(every:)`` (Flink's `ContinuousProcessingTimeTrigger` beside the event-time
/// trigger), the operator also emits, every `interval` of processing time, the current result of each (window,
/// key) that changed since it was last emitted and whose window has not fired yet. How it stays off the hot path:
///
/// - **One clock per operator instance, not a timer per window or key.** The task's processing-time ticks drive a
///   single deadline, aligned to multiples of the interval as Flink aligns its continuous trigger, so the
///   instances of an operator fire together. A timer per window would be no cheaper to fire (the firing must
///   find the changed keys anyway) and per key would put a heap insert on the record path. The deadline is not
///   checkpointed: a restored instance arms it at its first tick, so changes wait at most one interval more.
/// - **A dirty marker per (window, key), kept in the accumulator** (``WindowAccumulator/dirty``). The first change
///   after an emission sets it and appends the key to ``dirty``, the work list of the next firing; later changes
///   find it set and cost nothing more. A firing visits only the listed entries, never all the keys of a window
///   (a day of 10,000 customers re-emits only those who paid in the last interval).
/// - **Exactly once.** The marker is part of the checkpointed accumulator, and an early result is emitted in the
///   same step that clears it, so a checkpoint holds either "changed, not emitted" or "emitted before this
///   barrier" (and the sink commits that row with this checkpoint). The work list is not in the checkpoint: a
///   restored instance rebuilds it with one scan of its open windows. Early results are upserts of the same key
///   as the final one, so whatever the timing of the early firings, the final row is the event-time result.
///
/// Once a window has fired, markers left set are ignored: the final result covered them, and late updates are
/// emitted at once.
final class WindowOperator<K: StateKey, A: WindowAssigner, F: AggregateFunction, Output: Sendable>:
    OneInputOperator<F.Input, Output>, CheckpointParticipant
where F.Input: Sendable, F.Accumulator: StateValue {
    typealias Emit = @Sendable (K, TimeWindow, F.Output, inout Collector<Output>) -> Void

    private let assigner: A
    private let function: F
    private let keysOf: @Sendable (RecordBatch<F.Input>, inout [K]) -> Void
    /// The keys of the batch being processed and their hashes in the table (capacity kept between batches).
    private var keyBuffer: [K] = []
    private var hashBuffer: [UInt64] = []
    private let emitResult: Emit
    private let lateness: Int64
    private let earlyInterval: Int64?
    private let table: WindowTable<K, WindowAccumulator<F.Accumulator>>
    private let context: OperatorContext
    @exclusivity(unchecked) private var late: LateData<F.Input>

    @exclusivity(unchecked) private var watermark = Watermark.minimum
    /// Live windows, ordered by end, with whether they fired.
    @exclusivity(unchecked) private var windows: [TimeWindow] = []
    private var fired: Set<TimeWindow> = []
    @exclusivity(unchecked) private var lastRegistered: TimeWindow?
    /// The (window, key) entries changed since their last emission, for the next early firing. A key is listed
    /// once per window however often it changes: its accumulator's marker says whether it is listed already.
    @exclusivity(unchecked) private var dirty: [TimeWindow: [K]] = [:]
    /// When the next early firing is due (processing time); nil until the first tick.
    private var nextEarlyFiring: Int64?
    @exclusivity(unchecked) private var out = Collector<Output>()
    /// Runs ``process(_:)``; made in `init`, which the job's module calls with concrete types, so that the loop
    /// is specialized there rather than reached through this generic class's vtable.
    private var handler: ((RecordBatch<F.Input>) -> Void)?

    init(
        output: Downstream<Output>, assigner: A, function: F,
        keys: @escaping @Sendable (RecordBatch<F.Input>, inout [K]) -> Void, spec: WindowSpec, emit: @escaping Emit,
        context: OperatorContext
    ) {
        self.assigner = assigner
        self.function = function
        keysOf = keys
        emitResult = emit
        lateness = spec.allowedLateness.milliseconds
        earlyInterval = spec.trigger.earlyFiringInterval?.milliseconds
        table = context.stateBackend.windowTable(
            context.stateName("windows"), key: K.self, accumulator: WindowAccumulator<F.Accumulator>.self)
        self.context = context
        late = LateData(spec: spec, context: context)
        super.init(output: output)
        handler = { [unowned self] batch in self.process(batch) }
        context.registerForCheckpoints(self)
        if let restored = context.restoredWatermark() { watermark = restored }
        // Restored windows: those at or before the watermark have fired already (their state outlives the firing
        // only for the allowed lateness).
        for window in table.windows { register(window) }
        fired = Set(windows.filter { $0.maxTimestamp <= watermark })
        if earlyInterval != nil { relistChangedEntries() }
    }

    /// Lists again, after a restore, the entries of open windows that changed after their last emission (their
    /// markers were checkpointed, the work list was not). One scan of the open windows when the operator starts.
    private func relistChangedEntries() {
        for window in windows where !fired.contains(window) {
            var keys: [K] = []
            table.forEach(in: window) { key, entry in
                if entry.dirty { keys.append(key) }
            }
            if !keys.isEmpty { dirty[window] = keys }
        }
    }

    override func push(_ batch: consuming RecordBatch<F.Input>) { handler?(batch) }

    /// Records are read in place from the batch (`batch.values[i]`, never bound to a local): the aggregate function,
    /// inlined here, reads only the fields it needs, and a record is copied only to go to the late output.
    ///
    /// The keys are hashed first, and each record asks for the table's lines of the record ``prefetchDistance``
    /// ahead: a window of many keys does not fit in the caches, and its lookups' misses then overlap.
    private func process(_ batch: RecordBatch<F.Input>) {
        var keys = keyBuffer
        keyBuffer = []
        keysOf(batch, &keys)
        var hashes = hashBuffer
        hashBuffer = []
        hashes.removeAll(keepingCapacity: true)
        for key in keys { hashes.append(table.hash(key)) }
        let count = batch.count
        for i in 0..<count {
            if i + Self.prefetchDistance < count { table.prefetch(hash: hashes[i + Self.prefetchDistance]) }
            let timestamp = batch.timestamps[i]
            var onTime = false
            assigner.forEachWindow(containing: timestamp) { window in
                guard !isLate(window) else { return }
                onTime = true
                add(batch, i, key: keys[i], hash: hashes[i], window: window)
            }
            if !onTime {
                late.record(batch.values[i], timestamp: timestamp, watermark: watermark)
            }
        }
        keyBuffer = keys
        hashBuffer = hashes
        late.count()
        emit()
    }

    /// Whether the window closed for good: its end plus the allowed lateness is at or behind the watermark
    /// (a window ending near the end of time never closes before the end of time).
    @inline(__always)
    private func isLate(_ window: TimeWindow) -> Bool {
        window.maxTimestamp <= Int64.max - lateness && window.maxTimestamp + lateness <= watermark
    }

    /// How many records ahead ``process(_:)`` prefetches.
    private static var prefetchDistance: Int { 8 }

    @inline(__always)
    private func add(_ batch: RecordBatch<F.Input>, _ i: Int, key: K, hash: UInt64, window: TimeWindow) {
        if window != lastRegistered { register(window) }
        let firesNow = window.maxTimestamp <= watermark
        let markDirty = earlyInterval != nil && !firesNow
        let newlyDirty = table.update(key, hash: hash, window) { entry -> Bool in
            // Taken out of the table so that collection accumulators are mutated without a copy.
            var e = entry.take() ?? WindowAccumulator(accumulator: function.createAccumulator(), dirty: false)
            function.add(batch.values[i], to: &e.accumulator)
            if firesNow {
                out.timestamp = window.maxTimestamp
                emitResult(key, window, function.result(e.accumulator), &out)
            }
            let becameDirty = markDirty && !e.dirty
            if becameDirty { e.dirty = true }
            entry = e
            return becameDirty
        }
        if newlyDirty { dirty[window, default: []].append(key) }
    }

    private func register(_ window: TimeWindow) {
        lastRegistered = window
        var low = 0
        var high = windows.count
        while low < high {
            let mid = (low + high) / 2
            if windows[mid] < window { low = mid + 1 } else { high = mid }
        }
        if low < windows.count && windows[low] == window { return }
        windows.insert(window, at: low)
    }

    override func watermark(_ watermark: Int64) {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        var firstLive = 0
        for window in windows {
            if window.maxTimestamp > watermark { break }
            if fired.insert(window).inserted {
                dirty[window] = nil
                table.forEach(in: window) { key, entry in
                    out.timestamp = window.maxTimestamp
                    emitResult(key, window, function.result(entry.accumulator), &out)
                }
            }
            if isLate(window) {
                table.removeWindow(window)
                fired.remove(window)
                firstLive += 1
            }
        }
        // Windows are ordered by end, so the dropped ones are a prefix.
        if firstLive > 0 {
            windows.removeFirst(firstLive)
            lastRegistered = nil
        }
        emit()
        output.watermark(watermark)
    }

    override func processingTime(_ now: Int64) {
        if let interval = earlyInterval {
            if let next = nextEarlyFiring, now >= next { fireEarly() }
            if nextEarlyFiring.map({ now >= $0 }) ?? true {
                // The next multiple of the interval, as Flink's ContinuousProcessingTimeTrigger aligns its timers.
                let remainder = now % interval
                nextEarlyFiring = now - (remainder < 0 ? remainder + interval : remainder) + interval
            }
        }
        output.processingTime(now)
    }

    /// Emits the current result of every listed entry and clears its marker.
    private func fireEarly() {
        guard !dirty.isEmpty else { return }
        for (window, keys) in dirty.sorted(by: { $0.key < $1.key }) {
            for key in keys {
                table.update(key, window) { entry in
                    guard var e = entry.take() else { return }
                    e.dirty = false
                    out.timestamp = window.maxTimestamp
                    emitResult(key, window, function.result(e.accumulator), &out)
                    entry = e
                }
            }
        }
        dirty.removeAll(keepingCapacity: true)
        emit()
    }

    override func endOfInput() {
        emit()
        output.endOfInput()
    }

    // The accumulators are in the backend's table; the operator adds its watermark, which decides lateness.
    func snapshotState(into builder: SnapshotBuilder) { context.snapshotWatermark(watermark, into: builder) }

    private func emit() {
        context.flushSideOutputs()
        guard !out.batch.isEmpty else { return }
        output.push(out.take())
    }
}
