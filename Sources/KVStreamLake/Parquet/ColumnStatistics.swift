/// The null count and min / max of a column chunk, gathered page by page.
///
/// Orders: signed for integers, dates, timestamps and decimals; `false < true`; IEEE for doubles without NaN
/// (with -0.0 as min and +0.0 as max, as the format asks); unsigned bytewise for strings.
struct ColumnStatistics {
    /// Strings longer than this are left out of min / max (as Arrow does), to keep footers small.
    static let maxStringBytes = 4096

    /// Level entries without a value: nulls, and empty lists.
    var nullCount = 0
    var int64s: (min: Int64, max: Int64)?
    var int32s: (min: Int32, max: Int32)?
    var doubles: (min: Double, max: Double)?
    var decimals: (min: Int128, max: Int128)?
    var bools: (min: Bool, max: Bool)?
    var strings: (min: [UInt8], max: [UInt8])?

    static func merge<S: Sequence>(_ values: S, into bounds: inout (min: S.Element, max: S.Element)?)
    where S.Element: Comparable {
        var iterator = values.makeIterator()
        guard var (low, high) = bounds ?? iterator.next().map({ ($0, $0) }) else { return }
        while let value = iterator.next() {
            if value < low { low = value }
            if value > high { high = value }
        }
        bounds = (low, high)
    }

    mutating func addBools(_ values: [Bool]) {
        guard !values.isEmpty else { return }
        let low = !values.contains(false)
        let high = values.contains(true)
        bools = bools.map { (min: $0.min && low, max: $0.max || high) } ?? (low, high)
    }

    /// Merges PLAIN-encoded strings.
    mutating func addStrings(plain: UnsafeRawBufferPointer) {
        guard let base = plain.baseAddress, !plain.isEmpty else { return }
        func value(at offset: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(
                start: base + offset + 4, count: Int(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        var low = value(at: 0)
        var high = low
        var offset = 4 + low.count
        while offset < plain.count {
            let next = value(at: offset)
            if Self.precedes(next, low) { low = next } else if Self.precedes(high, next) { high = next }
            offset += 4 + next.count
        }
        if let strings {
            let keepLow = strings.min.withUnsafeBytes { !Self.precedes(low, $0) }
            let keepHigh = strings.max.withUnsafeBytes { !Self.precedes($0, high) }
            self.strings = (keepLow ? strings.min : Array(low), keepHigh ? strings.max : Array(high))
        } else {
            strings = (Array(low), Array(high))
        }
    }

    /// Unsigned bytewise order, a prefix first: 8 bytes at a time as big-endian words (inline, since most strings
    /// are short and a call to `memcmp` would cost more than the comparison).
    @inline(__always)
    static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = Swift.min(a.count, b.count)
        guard common > 0, let x = a.baseAddress, let y = b.baseAddress else { return a.count < b.count }
        var i = 0
        while i + 8 <= common {
            let u = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let v = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if u != v { return u < v }
            i += 8
        }
        while i < common {
            let u = x.load(fromByteOffset: i, as: UInt8.self)
            let v = y.load(fromByteOffset: i, as: UInt8.self)
            if u != v { return u < v }
            i += 1
        }
        return a.count < b.count
    }

    /// The footer's form: min and max as the column's PLAIN encoding (big-endian for 16-byte decimals).
    func encoded(for kind: ParquetValueKind) -> ParquetStatistics {
        var statistics = ParquetStatistics(nullCount: Int64(nullCount))
        func set<T>(_ bounds: (min: T, max: T)?) {
            guard let bounds else { return }
            statistics.minValue = withUnsafeBytes(of: bounds.min) { Array($0) }
            statistics.maxValue = withUnsafeBytes(of: bounds.max) { Array($0) }
        }
        switch kind {
        case .int64, .timestamp, .decimal64: set(int64s)
        case .date: set(int32s)
        case .decimal128: set(decimals.map { (min: $0.min.bigEndian, max: $0.max.bigEndian) })
        case .double: set(doubles.map { (min: $0.min == 0 ? -0.0 : $0.min, max: $0.max == 0 ? 0.0 : $0.max) })
        case .bool: set(bools)
        case .string, .json, .stringArray:
            if let strings, strings.min.count <= Self.maxStringBytes && strings.max.count <= Self.maxStringBytes {
                statistics.minValue = strings.min
                statistics.maxValue = strings.max
            }
        }
        return statistics
    }
}
