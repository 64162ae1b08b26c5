/// The key of a state table's in-memory dictionary: a state key whose hashing the table chooses.
///
/// The standard library hashes every key with SipHash-1-3 through a `Hasher`: for the short strings that key
/// most jobs (customer and merchant ids), setting up and finishing the hasher cost more than the dictionary's
/// probe itself (a third of the window operator's time in the Kafka benchmark). A `String` key is hashed here
/// with ``StateHashing`` instead: a few multiplications over its UTF-8, seeded by the dictionary's own seed.
/// Other keys hash as they always do.
///
/// **Equality of strings is byte equality.** Swift compares strings by canonical equivalence ("K" equals
/// "\u{212A}", the Kelvin sign), but key groups (``KeyGroup``) and the store (RocksDB) already tell keys apart by
/// their encoded UTF-8 bytes: two such keys can live in different task instances. The state tables now agree with
/// them, so a key's state does not depend on which other keys share its task.
///
/// The faster hash reaches the dictionary through `_rawHashValue(seed:)`, the standard library's own hook
/// for it (underscored, part of the stable ABI, how its integer types skip the hasher's set-up). If a future
/// standard library stopped calling it, dictionaries would use ``hash(into:)``, which agrees with `==` too:
/// slower, still correct.
public struct StateMapKey<K: Hashable>: Hashable {
    public var key: K

    @inlinable @inline(__always)
    public init(_ key: K) { self.key = key }

    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        if K.self == String.self {
            return StateHashing.sameBytes(unsafeBitCast(lhs.key, to: String.self), unsafeBitCast(rhs.key, to: String.self))
        }
        return lhs.key == rhs.key
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        guard K.self == String.self else { return key.hash(into: &hasher) }
        var string = unsafeBitCast(key, to: String.self)
        string.withUTF8 { utf8 in
            hasher.combine(bytes: UnsafeRawBufferPointer(utf8))
            hasher.combine(utf8.count)
        }
    }

    @inlinable
    public func _rawHashValue(seed: Int) -> Int {
        guard K.self == String.self else { return key._rawHashValue(seed: seed) }
        var string = unsafeBitCast(key, to: String.self)
        return string.withUTF8 { utf8 in
            Int(truncatingIfNeeded: StateHashing.hash(UnsafeRawBufferPointer(utf8), seed: UInt64(UInt(bitPattern: seed))))
        }
    }
}

/// A seeded 64-bit hash of bytes for the state tables' dictionaries, after wyhash's design (multiply two 64-bit
/// words to 128 bits and fold the halves): one multiplication for up to 16 bytes, one more per further 16, reads
/// only within the bytes. Not a cryptographic hash: it spreads keys, and its seed (the dictionary's, which the
/// standard library draws per process and per table) keeps colliding key sets from being prepared in advance.
@usableFromInline
enum StateHashing {
    @inlinable @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inlinable static var k0: UInt64 { 0xa076_1d64_78bd_642f }
    @inlinable static var k1: UInt64 { 0xe703_7ed1_a0b4_28db }
    @inlinable static var k2: UInt64 { 0x8ebc_6af0_9c88_c6e3 }

    @inlinable @inline(__always)
    static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func load32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    @inlinable
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var state = seed ^ fold(seed ^ k0, k1)
        var a: UInt64
        var b: UInt64
        if count <= 16 {
            if count >= 4 {
                // Two overlapping reads of each half: every byte counts, none is read past the end.
                let step = (count >> 3) << 2
                a = load32(bytes, 0) << 32 | load32(bytes, step)
                b = load32(bytes, count - 4) << 32 | load32(bytes, count - 4 - step)
            } else if count > 0 {
                a = UInt64(bytes[0]) << 16 | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1])
                b = 0
            } else {
                a = 0
                b = 0
            }
        } else {
            var offset = 0
            while count - offset > 16 {
                state = fold(load64(bytes, offset) ^ k1, load64(bytes, offset + 8) ^ state)
                offset += 16
            }
            a = load64(bytes, count - 16)
            b = load64(bytes, count - 8)
        }
        a ^= k1
        b ^= state
        let product = a.multipliedFullWidth(by: b)
        return fold(product.low ^ k0 ^ UInt64(count), product.high ^ k1)
    }

    /// Whether two strings hold the same UTF-8 bytes. Identical bits are the same string in any representation,
    /// which is how a found key usually compares (both made by the decoder from the same bytes); other pairs
    /// compare lengths, then bytes.
    @inlinable
    static func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
        if MemoryLayout<String>.size == 16,
           unsafeBitCast(lhs, to: (UInt64, UInt64).self) == unsafeBitCast(rhs, to: (UInt64, UInt64).self) { return true }
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { l in rhs.withUTF8 { r in l.elementsEqual(r) } }
    }
}
