/// Parquet's RLE / bit-packing hybrid, for definition and repetition levels and dictionary indices.
///
/// A run of 8 or more equal values becomes an RLE run (a varint header `count << 1`, then the value in
/// `ceil(bitWidth / 8)` little-endian bytes). Everything else is bit-packed in groups of 8 values (a header
/// `groups << 1 | 1`, then `bitWidth` bytes per group, least significant bit first); the last group of the data
/// is padded with zeros, which readers ignore since pages carry their value counts.
enum RLEHybridEncoder {
    /// The bit width that holds every value up to `maxValue` (at least 1).
    static func bitWidth(maxValue: Int) -> Int {
        max(1, Int.bitWidth - maxValue.leadingZeroBitCount)
    }

    /// Appends `values` (each below `2^bitWidth`, `bitWidth` <= 32) to `out`, without a length prefix.
    static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, to out: inout [UInt8]
    ) {
        let n = values.count
        var i = 0
        while i < n {
            let value = values[i]
            var end = i + 1
            while end < n && values[end] == value { end += 1 }
            if end - i >= 8 {
                out.appendVarint(UInt64(end - i) << 1)
                out.appendLittleEndian(value, byteCount: (bitWidth + 7) / 8)
                i = end
                continue
            }
            // Bit-pack groups of 8 until a group would start with a run of 8 (or the data ends).
            let start = i
            repeat { i += 8 } while i < n && !startsRunOfEight(values, at: i)
            out.appendVarint(UInt64((i - start) / 8) << 1 | 1)
            bitPack(values, from: start, to: min(i, n), paddedTo: i, bitWidth: bitWidth, into: &out)
        }
    }

    private static func startsRunOfEight<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>, at i: Int) -> Bool {
        guard i + 8 <= values.count else { return false }
        let value = values[i]
        for k in i + 1..<i + 8 where values[k] != value { return false }
        return true
    }

    private static func bitPack<T: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<T>, from start: Int, to end: Int, paddedTo paddedEnd: Int, bitWidth: Int,
        into out: inout [UInt8]
    ) {
        var bits: UInt64 = 0
        var bitCount = 0
        for k in start..<paddedEnd {
            bits |= (k < end ? UInt64(values[k]) : 0) << bitCount
            bitCount += bitWidth
            while bitCount >= 8 {
                out.append(UInt8(truncatingIfNeeded: bits))
                bits >>= 8
                bitCount -= 8
            }
        }
    }
}
