import Testing

@testable import KVStream

@Suite struct WatermarkValveTests {
    @Test func combinedIsMinimumOverInputs() {
        var valve = WatermarkValve(inputs: 2)
        #expect(valve.watermark(10, input: 0).watermark == nil)
        #expect(valve.watermark(5, input: 1).watermark == 5)
        #expect(valve.watermark(20, input: 1).watermark == 10)
        #expect(valve.watermark(8, input: 0).watermark == nil)  // watermarks never go back
        #expect(valve.combined == 10)
    }

    @Test func idleInputDoesNotHoldBack() {
        var valve = WatermarkValve(inputs: 2)
        _ = valve.watermark(100, input: 0)
        #expect(valve.combined == Watermark.minimum)
        let change = valve.setIdle(true, input: 1)
        #expect(change.watermark == 100)
        #expect(valve.watermark(150, input: 0).watermark == 150)
    }

    @Test func allIdleMakesTaskIdleAndBack() {
        var valve = WatermarkValve(inputs: 2)
        #expect(valve.setIdle(true, input: 0).idle == nil)
        #expect(valve.setIdle(true, input: 1).idle == true)
        #expect(valve.isIdle)
        let change = valve.watermark(5, input: 0)
        #expect(change.idle == false)
        #expect(change.watermark == 5)
    }

    @Test func reactivatedInputMustCatchUp() {
        var valve = WatermarkValve(inputs: 2)
        _ = valve.watermark(50, input: 1)
        _ = valve.setIdle(true, input: 0)
        #expect(valve.combined == 50)
        // Input 0 comes back behind the combined watermark: it must not pull it back, and does not hold it.
        #expect(valve.watermark(10, input: 0).watermark == nil)
        #expect(valve.watermark(80, input: 1).watermark == 80)
        #expect(valve.watermark(90, input: 0).watermark == nil)
        #expect(valve.watermark(95, input: 1).watermark == 90)
    }

    @Test func endingDoesNotAdvanceEventTime() {
        // A stopped job ends its inputs without draining: windows must keep their state, not fire.
        var valve = WatermarkValve(inputs: 2)
        _ = valve.watermark(40, input: 0)
        _ = valve.watermark(30, input: 1)
        #expect(valve.combined == 30)
        #expect(valve.end(input: 1).watermark == 40)  // the other input alone decides now
        #expect(valve.end(input: 0).watermark == nil)
        #expect(valve.allEnded)
        #expect(valve.combined == 40)
    }

    @Test func drainedInputsReachTheEndOfTime() {
        var valve = WatermarkValve(inputs: 2)
        _ = valve.watermark(Watermark.endOfTime, input: 0)
        _ = valve.end(input: 0)
        #expect(valve.watermark(Watermark.endOfTime, input: 1).watermark == Watermark.endOfTime)
    }

    @Test func inputsKnownToBeEmptyNeverHoldBack() {
        // Source instances without a split: their first word may come after the data of the others.
        var valve = WatermarkValve(inputs: 4, ended: [1, 2, 3])
        #expect(valve.watermark(100, input: 0).watermark == 100)
        #expect(valve.setIdle(true, input: 2) == WatermarkValve.Change())
        #expect(valve.end(input: 3) == WatermarkValve.Change())
    }
}
