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
        // Room for the worst case, written through a pointer (an append per byte would cost more than the
        // packing), then trimmed: per group of 8 values, `bitWidth` bytes and a header of at most 5, and 8 bytes
        // of slack for whole-word stores.
        let start = out.count
        let bound = (values.count / 8 + 2) * (bitWidth + 5) + 8
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { out in
            encode(values, bitWidth: bitWidth, into: out.baseAddress! + start)
        }
        out.removeLast(bound - written)
    }

    /// Writes the encoding at `destination`; returns its size.
    private static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, into destination: UnsafeMutableRawPointer
    ) -> Int {
        var cursor = destination
        let n = values.count
        var i = 0
        while i < n {
            let value = values[i]
            var end = i + 1
            while end < n && values[end] == value { end += 1 }
            if end - i >= 8 {
                writeVarint(UInt64(end - i) << 1, at: &cursor)
                cursor.storeBytes(of: UInt64(value).littleEndian, as: UInt64.self)
                cursor += (bitWidth + 7) / 8
                i = end
                continue
            }
            // Bit-pack groups of 8 until a group would start with a run of 8 (or the data ends).
            let start = i
            repeat { i += 8 } while i < n && !startsRunOfEight(values, at: i)
            writeVarint(UInt64((i - start) / 8) << 1 | 1, at: &cursor)
            for group in stride(from: start, to: i, by: 8) {
                packGroup(values, at: group, bitWidth: bitWidth, to: &cursor)
            }
        }
        return cursor - destination
    }

    private static func startsRunOfEight<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>, at i: Int) -> Bool {
        guard i + 8 <= values.count else { return false }
        let value = values[i]
        for k in i + 1..<i + 8 where values[k] != value { return false }
        return true
    }

    /// Packs the 8 values from `start` (zeros past the end) into `bitWidth` bytes, 64 bits at a time.
    @inline(__always)
    private static func packGroup<T: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<T>, at start: Int, bitWidth: Int, to cursor: inout UnsafeMutableRawPointer
    ) {
        var bits: UInt64 = 0
        var bitCount = 0
        for k in start..<start + 8 {
            let value = k < values.count ? UInt64(values[k]) : 0
            bits |= value &<< UInt64(bitCount)
            bitCount += bitWidth
            if bitCount >= 64 {
                cursor.storeBytes(of: bits.littleEndian, as: UInt64.self)
                cursor += 8
                bitCount -= 64
                bits = bitCount > 0 ? value &>> UInt64(bitWidth - bitCount) : 0
            }
        }
        // 8 values of `bitWidth` bits end on a byte boundary.
        cursor.storeBytes(of: bits.littleEndian, as: UInt64.self)
        cursor += bitCount / 8
    }

    private static func writeVarint(_ value: UInt64, at cursor: inout UnsafeMutableRawPointer) {
        var v = value
        while v >= 0x80 {
            cursor.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            cursor += 1
            v >>= 7
        }
        cursor.storeBytes(of: UInt8(v), as: UInt8.self)
        cursor += 1
    }
}
