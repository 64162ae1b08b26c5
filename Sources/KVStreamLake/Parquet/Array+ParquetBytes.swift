extension [UInt8] {
    /// An unsigned LEB128 varint (Thrift's compact protocol and the hybrid encoding's run headers).
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }

    /// The `byteCount` low bytes of `value`, least significant first.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T, byteCount: Int = MemoryLayout<T>.size) {
        var v = value
        for _ in 0..<byteCount {
            append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }
}
