import Testing

@testable import KVStream

@Suite struct WindowAssignerTests {
    func windows(_ assigner: some WindowAssigner, _ ts: Int64) -> [TimeWindow] {
        var result: [TimeWindow] = []
        assigner.forEachWindow(containing: ts) { result.append($0) }
        return result
    }

    @Test func tumblingAlignsToEpoch() {
        let minute = TumblingWindows.of(.minutes(1))
        #expect(windows(minute, 0) == [TimeWindow(start: 0, end: 60_000)])
        #expect(windows(minute, 59_999) == [TimeWindow(start: 0, end: 60_000)])
        #expect(windows(minute, 60_000) == [TimeWindow(start: 60_000, end: 120_000)])
        // Negative times floor, they do not truncate toward zero.
        #expect(windows(minute, -1) == [TimeWindow(start: -60_000, end: 0)])
    }

    @Test func dailyWindowsAreUTCDays() {
        let day = TumblingWindows.of(.days(1))
        let ts: Int64 = 1_767_225_600_000 + 23 * 3_600_000  // 2026-01-01T23:00Z
        #expect(windows(day, ts) == [TimeWindow(start: 1_767_225_600_000, end: 1_767_312_000_000)])
    }

    @Test func slidingGivesSizeOverSlideWindows() {
        let hourly = SlidingWindows.of(.hours(1), every: .minutes(5))
        let ts: Int64 = 1_767_225_600_000 + 7 * 60_000
        let result = windows(hourly, ts)
        #expect(result.count == 12)
        for w in result {
            #expect(w.start <= ts && ts < w.end)
            #expect(w.end - w.start == 3_600_000)
            #expect(w.start % 300_000 == 0)
        }
        #expect(Set(result).count == 12)
    }

    @Test func slidingAtSlideBoundary() {
        let s = SlidingWindows.of(.seconds(10), every: .seconds(5))
        #expect(windows(s, 5_000) == [TimeWindow(start: 5_000, end: 15_000), TimeWindow(start: 0, end: 10_000)])
        #expect(windows(s, 4_999) == [TimeWindow(start: 0, end: 10_000), TimeWindow(start: -5_000, end: 5_000)])
    }

    @Test func sessionWindowsMerge() {
        let a = TimeWindow(start: 0, end: 10)
        #expect(a.intersects(TimeWindow(start: 10, end: 20)))
        #expect(!a.intersects(TimeWindow(start: 11, end: 20)))
        #expect(a.cover(TimeWindow(start: 5, end: 30)) == TimeWindow(start: 0, end: 30))
        #expect(SessionWindows.withGap(.seconds(1)).mergingGap == .seconds(1))
        #expect(TumblingWindows.of(.seconds(1)).mergingGap == nil)
    }
}
