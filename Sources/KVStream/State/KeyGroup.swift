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
        group(finishing: fnv(bytes, onto: fnvBasis), maxParallelism: maxParallelism)
    }

    /// The key group of a key, encoding it into `scratch` (reused between calls to avoid allocating).
    ///
    /// A `String`, the usual key, is hashed as it would be encoded (its UTF-8 count as a LEB128 varint, then its
    /// UTF-8) without being written out: this runs for every record of a hash exchange.
    @inlinable
    public static func of<K: BinaryCodable>(_ key: K, maxParallelism: Int, scratch: inout BinaryWriter) -> Int {
        if K.self == String.self { return of(string: unsafeBitCast(key, to: String.self), maxParallelism: maxParallelism) }
        scratch.reset()
        key.encode(to: &scratch)
        return scratch.bytes.withUnsafeBytes { of(encodedKey: $0, maxParallelism: maxParallelism) }
    }

    /// The key group of a string key, the same as that of its encoding (``BinaryWriter/write(_:)``).
    @inlinable
    static func of(string: String, maxParallelism: Int) -> Int {
        var string = string
        return string.withUTF8 { utf8 in
            var hash = fnvBasis
            BinaryWriter.forEachVarintByte(of: UInt64(utf8.count)) { hash = fnv($0, onto: hash) }
            return group(finishing: fnv(UnsafeRawBufferPointer(utf8), onto: hash), maxParallelism: maxParallelism)
        }
    }

    @inlinable static var fnvBasis: UInt64 { 0xcbf2_9ce4_8422_2325 }

    @inlinable
    static func fnv(_ byte: UInt8, onto hash: UInt64) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    @inlinable
    static func fnv(_ bytes: UnsafeRawBufferPointer, onto hash: UInt64) -> UInt64 {
        var hash = hash
        for byte in bytes { hash = fnv(byte, onto: hash) }
        return hash
    }

    @inlinable
    static func group(finishing hash: UInt64, maxParallelism: Int) -> Int {
        var hash = hash
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Int(hash % UInt64(maxParallelism))
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
