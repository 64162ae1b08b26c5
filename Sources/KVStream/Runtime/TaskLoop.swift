/// The loop of a task that reads from an ``InputGate``: it merges the inputs' watermarks, aligns checkpoint
/// barriers, and drives the chain until every input ended.
struct TaskLoop<Element: Sendable> {
    let gate: InputGate<Element>
    let head: Downstream<Element>
    /// Inputs whose upstream instance never carries a record (see ``PhysicalPlan/emptyInstances(splitCounts:)``).
    let emptyInputs: Set<Int>
    let environment: TaskEnvironment

    func run() async throws {
        var valve = WatermarkValve(inputs: gate.inputCount, ended: emptyInputs)
        var aligner = BarrierAligner(inputs: gate.inputCount)
        for input in emptyInputs { _ = aligner.inputEnded(input) }
        var ended = emptyInputs
        while true {
            switch await gate.next() {
            case .tick:
                head.processingTime(Clock.nowMillis())
            case .event(let input, let event):
                switch event {
                case .records(let batch):
                    head.push(batch)
                case .watermark(let watermark):
                    apply(valve.watermark(watermark, input: input))
                case .idle(let isIdle):
                    apply(valve.setIdle(isIdle, input: input))
                case .barrier(let barrier):
                    try await perform(aligner.barrier(barrier, input: input))
                case .endOfInput:
                    ended.insert(input)
                    apply(valve.end(input: input))
                    try await perform(aligner.inputEnded(input))
                    if ended.count == gate.inputCount {
                        head.endOfInput()
                        await flush()
                        try environment.checkFailure()
                        try await environment.checkpointing.finished()
                        return
                    }
                }
            }
            await flush()
            try environment.checkFailure()
        }
    }

    private func flush() async {
        await environment.flushOutputs()
    }

    private func perform(_ actions: [BarrierAligner.Action]) async throws {
        for action in actions {
            switch action {
            case .block(let input):
                gate.setBlocked(true, input: input)
            case .unblockAll:
                unblockAll()
            case .snapshot(let barrier):
                // The chain handles the barrier synchronously (sinks stage, outputs queue it), then the task's
                // state as of this point goes to the coordinator, and the inputs open again.
                head.barrier(barrier)
                await flush()
                try environment.checkFailure()
                try await environment.checkpointing.acknowledge(barrier)
                unblockAll()
            }
        }
    }

    private func unblockAll() {
        for input in 0..<gate.inputCount { gate.setBlocked(false, input: input) }
    }

    private func apply(_ change: WatermarkValve.Change) {
        if change.idle == false { head.idle(false) }
        if let watermark = change.watermark { head.watermark(watermark) }
        if change.idle == true { head.idle(true) }
    }
}
