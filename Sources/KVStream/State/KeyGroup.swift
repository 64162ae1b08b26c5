/// Key groups: the unit in which keyed state is stored, checkpointed and moved between task instances.
///
/// A key hashes to one of `maxParallelism` groups; groups are assigned to task instances in contiguous ranges,
/// so a checkpoint taken at one parallelism can be restored at another by handing out the ranges anew
/// (Flink's `KeyGroupRangeAssignment`).
public enum KeyGroup {
    /// The default number of key groups.
    public static let defaultMaxParallelism = 128

    /// The key group of an encoded key: a 64-bit FNV-1a over the bytes, finished with a murmur3 mix so that
    /// keys differing in one trailing byte spread over all groups.
    @inlinable
    public static func of(encodedKey bytes: UnsafeRawBufferPointer, maxParallelism: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Int(hash % UInt64(maxParallelism))
    }

    /// The key group of a key, encoding it into `scratch` (reused between calls to avoid allocating).
    @inlinable
    public static func of<K: BinaryCodable>(_ key: K, maxParallelism: Int, scratch: inout BinaryWriter) -> Int {
        scratch.reset()
        key.encode(to: &scratch)
        return scratch.bytes.withUnsafeBytes { of(encodedKey: $0, maxParallelism: maxParallelism) }
    }

    /// The task instance that owns a key group (Flink's `computeOperatorIndexForKeyGroup`).
    @inlinable
    public static func operatorIndex(keyGroup: Int, maxParallelism: Int, parallelism: Int) -> Int {
        keyGroup * parallelism / maxParallelism
    }

    /// The contiguous range of key groups owned by one task instance.
    public static func range(operatorIndex: Int, maxParallelism: Int, parallelism: Int) -> ClosedRange<Int> {
        let start = (operatorIndex * maxParallelism + parallelism - 1) / parallelism
        let end = ((operatorIndex + 1) * maxParallelism - 1) / parallelism
        return start...end
    }
}
