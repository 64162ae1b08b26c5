/// The loop of a task that reads from an ``InputGate``: it merges the inputs' watermarks and drives the chain.
struct TaskLoop<Element: Sendable> {
    let gate: InputGate<Element>
    let head: Downstream<Element>
    let environment: TaskEnvironment

    func run() async throws {
        var valve = WatermarkValve(inputs: gate.inputCount)
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
                    head.barrier(barrier)
                case .endOfInput:
                    apply(valve.end(input: input))
                    if valve.allEnded {
                        head.endOfInput()
                        await environment.flushOutputs()
                        try environment.checkFailure()
                        return
                    }
                }
            }
            await environment.flushOutputs()
            try environment.checkFailure()
        }
    }

    private func apply(_ change: WatermarkValve.Change) {
        if change.idle == false { head.idle(false) }
        if let watermark = change.watermark { head.watermark(watermark) }
        if change.idle == true { head.idle(true) }
    }
}
