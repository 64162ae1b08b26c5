/// Which clock a timer follows.
public enum TimeDomain: Sendable, Hashable {
    case eventTime
    case processingTime
}

/// A min-heap of (time, key) timers with de-duplication: registering the same timer twice keeps one.
///
/// Timers fire in timestamp order; ties fire in registration order of their keys' first timer.
struct TimerQueue<K: Hashable> {
    private struct Entry {
        var time: Int64
        var sequence: Int64
        var key: K
    }

    private struct TimerID: Hashable {
        var time: Int64
        var key: K
    }

    private var heap: [Entry] = []
    private var registered: Set<TimerID> = []
    private var nextSequence: Int64 = 0

    var count: Int { heap.count }
    var nextTime: Int64? { heap.first?.time }

    mutating func register(_ time: Int64, key: K) {
        guard registered.insert(TimerID(time: time, key: key)).inserted else { return }
        heap.append(Entry(time: time, sequence: nextSequence, key: key))
        nextSequence += 1
        siftUp(heap.count - 1)
    }

    mutating func delete(_ time: Int64, key: K) {
        // Lazy deletion: the entry stays in the heap and is skipped when popped.
        registered.remove(TimerID(time: time, key: key))
    }

    /// Removes and returns the earliest timer due at `time` or before.
    mutating func popDue(upTo time: Int64) -> (time: Int64, key: K)? {
        while let first = heap.first, first.time <= time {
            let entry = popFirst()
            if registered.remove(TimerID(time: entry.time, key: entry.key)) != nil {
                return (entry.time, entry.key)
            }
        }
        return nil
    }

    func forEach(_ body: (Int64, K) -> Void) {
        for e in heap where registered.contains(TimerID(time: e.time, key: e.key)) { body(e.time, e.key) }
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool { (a.time, a.sequence) < (b.time, b.sequence) }

    private mutating func popFirst() -> Entry {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && less(heap[right], heap[smallest]) { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
