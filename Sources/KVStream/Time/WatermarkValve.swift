/// Combines the watermarks of a task's inputs: the minimum over the inputs that are active.
///
/// An idle input does not hold the watermark back; when it becomes active again it must first catch up
/// (its watermark counts again only once it reaches the combined one), as Flink's `StatusWatermarkValve` does.
/// An ended input no longer counts; ending does not advance event time by itself (a stopped job must not fire its
/// windows): a drained input sends the end of time as its last watermark before it ends.
public struct WatermarkValve: Sendable {
    private var watermarks: [Int64]
    private var idle: [Bool]
    private var aligned: [Bool]
    private var ended: [Bool]
    public private(set) var combined: Int64 = Watermark.minimum
    public private(set) var isIdle = false

    /// - Parameter ended: inputs known to carry nothing (their upstream instance has no split to read); they
    ///   never hold the watermark back, so event time does not depend on when they first say so.
    public init(inputs: Int, ended endedInputs: Set<Int> = []) {
        watermarks = Array(repeating: Watermark.minimum, count: inputs)
        idle = Array(repeating: false, count: inputs)
        aligned = Array(repeating: true, count: inputs)
        ended = (0..<inputs).map { endedInputs.contains($0) }
    }

    public var inputCount: Int { watermarks.count }
    public var allEnded: Bool { !ended.contains(false) }

    /// What changed for the task's output after an input event.
    public struct Change: Sendable, Equatable {
        public var watermark: Int64?
        public var idle: Bool?
    }

    public mutating func watermark(_ value: Int64, input: Int) -> Change {
        guard !ended[input] else { return Change() }
        var change = Change()
        if idle[input] {
            // Back from idleness: it counts again only once it has caught up with the combined watermark.
            idle[input] = false
            aligned[input] = false
            change.idle = updateIdle()
        }
        if value > watermarks[input] {
            watermarks[input] = value
            if !aligned[input] && value >= combined { aligned[input] = true }
        }
        change.watermark = recompute()
        return change
    }

    public mutating func setIdle(_ isIdle: Bool, input: Int) -> Change {
        guard !ended[input], idle[input] != isIdle else { return Change() }
        idle[input] = isIdle
        if !isIdle { aligned[input] = watermarks[input] >= combined }
        var change = Change(watermark: recompute(), idle: nil)
        change.idle = updateIdle()
        return change
    }

    public mutating func end(input: Int) -> Change {
        guard !ended[input] else { return Change() }
        ended[input] = true
        idle[input] = false
        return Change(watermark: recompute(), idle: updateIdle())
    }

    private mutating func recompute() -> Int64? {
        var minimum = Int64.max
        var any = false
        for i in watermarks.indices where !idle[i] && aligned[i] && !ended[i] {
            any = true
            minimum = min(minimum, watermarks[i])
        }
        guard any, minimum > combined else { return nil }
        combined = minimum
        return minimum
    }

    /// Returns the new idleness when it flipped.
    private mutating func updateIdle() -> Bool? {
        let nowIdle = !idle.indices.contains { !idle[$0] && !ended[$0] } && !allEnded
        guard nowIdle != isIdle else { return nil }
        isIdle = nowIdle
        return nowIdle
    }
}
