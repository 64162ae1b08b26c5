/// The distinct values of a string column chunk, in the order first seen, with a hash table to find them.
///
/// Entries are stored PLAIN-encoded (a 4-byte little-endian length, then the bytes), which is the dictionary
/// page's body as is.
struct ByteArrayDictionary {
    /// The entries, PLAIN-encoded.
    private(set) var plain = PlainByteArrays()
    private(set) var count = 0
    /// Open addressing with linear probing, two words a slot: `hash << 32 | (entry + 1)` (0 for an empty slot),
    /// then the entry's ``key(_:offset:)``: a string of up to 7 bytes is compared in the slot itself, a longer one
    /// through ``plain`` at the offset the key holds.
    private var slots = [UInt64](repeating: 0, count: 2 * 1024)

    /// Writes the entry number of each PLAIN-encoded value of `page` to `indices`, adding new values, while the
    /// dictionary stays within `limit` bytes; returns false when it outgrew them (`indices` is then incomplete).
    mutating func indices(
        of page: UnsafeRawBufferPointer, into indices: UnsafeMutableBufferPointer<UInt32>, limit: Int
    ) -> Bool {
        var offset = 0
        for i in indices.indices {
            let value = Self.value(in: page, at: offset)
            let key = Self.key(value, offset: plain.byteCount)
            indices[i] = index(of: value, key: key, hash: Self.hash(value, key: key))
            if plain.byteCount > limit { return false }
            offset += 4 + value.count
        }
        return true
    }

    @inline(__always)
    private static func value(in page: UnsafeRawBufferPointer, at offset: Int) -> UnsafeRawBufferPointer {
        let count = Int(page.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        return UnsafeRawBufferPointer(start: page.baseAddress! + offset + 4, count: count)
    }

    @inline(__always)
    private mutating func index(of value: UnsafeRawBufferPointer, key: UInt64, hash: UInt32) -> UInt32 {
        let (slot, found) = probe(hash, key, value)
        if let found { return UInt32(found) }
        let index = count
        slots[2 * slot] = UInt64(hash) << 32 | UInt64(index + 1)
        slots[2 * slot + 1] = key
        plain.append(value)
        count += 1
        if count * 4 > slots.count { grow() }
        return UInt32(index)
    }

    /// A short string's bytes with its length and the top bit set (`1 << 63 | count << 56 | bytes`), or where a
    /// longer one starts (or would start) in ``plain``.
    @inline(__always)
    private static func key(_ value: UnsafeRawBufferPointer, offset: Int) -> UInt64 {
        let n = value.count
        guard n < 8 else { return UInt64(offset) }
        var bytes: UInt64 = 0
        if n >= 4 {
            // Two overlapping 4-byte loads cover the string; the overlap ORs identical bits.
            bytes = UInt64(value.loadUnaligned(as: UInt32.self))
                | UInt64(value.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << (8 * (n - 4))
        } else if n > 0 {
            bytes = UInt64(value[0]) | UInt64(value[n / 2]) << (8 * (n / 2)) | UInt64(value[n - 1]) << (8 * (n - 1))
        }
        return 1 << 63 | UInt64(n) << 56 | bytes
    }

    /// The entry holding `value` if there is one, else the empty slot where it goes.
    @inline(__always)
    private func probe(_ hash: UInt32, _ key: UInt64, _ value: UnsafeRawBufferPointer) -> (slot: Int, entry: Int?) {
        let isShort = key >> 63 != 0
        return slots.withUnsafeBufferPointer { slots in
            plain.withUnsafeBytes { plain in
                let mask = slots.count / 2 - 1
                var slot = Int(hash) & mask
                while true {
                    let bits = slots[2 * slot]
                    if bits == 0 { return (slot, nil) }
                    if UInt32(truncatingIfNeeded: bits >> 32) == hash {
                        let stored = slots[2 * slot + 1]
                        if isShort ? stored == key : stored >> 63 == 0 && Self.equals(plain, at: Int(stored), value) {
                            return (slot, Int(UInt32(truncatingIfNeeded: bits)) - 1)
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// Empties the dictionary, keeping its memory for the next chunk.
    mutating func removeAll() {
        guard count > 0 else { return }
        plain.removeAll()
        count = 0
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Whether the entry whose length prefix starts at `offset` holds `value`, a string of 8 bytes or more:
    /// 8 bytes at a time (most strings are short, and a call to `memcmp` would cost more than the comparison).
    @inline(__always)
    private static func equals(
        _ plain: UnsafeRawBufferPointer, at offset: Int, _ value: UnsafeRawBufferPointer
    ) -> Bool {
        let n = value.count
        guard plain.loadUnaligned(fromByteOffset: offset, as: UInt32.self) == UInt32(n) else { return false }
        let entry = plain.baseAddress! + offset + 4
        let v = value.baseAddress!
        var k = 0
        while k + 8 <= n {
            let stored = entry.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            if stored != v.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        // The last 8 bytes, overlapping those compared.
        return k == n
            || entry.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                == v.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }

    private mutating func grow() {
        var larger = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = larger.count / 2 - 1
        for old in stride(from: 0, to: slots.count, by: 2) where slots[old] != 0 {
            var slot = Int(slots[old] >> 32) & mask
            while larger[2 * slot] != 0 { slot = (slot + 1) & mask }
            larger[2 * slot] = slots[old]
            larger[2 * slot + 1] = slots[old + 1]
        }
        slots = larger
    }

    /// A 32-bit hash of a byte string. A short one is its ``key(_:offset:)``, which one multiply spreads
    /// (Fibonacci hashing, the high half); a longer one goes 8 bytes at a time through a multiply-rotate mix and
    /// a finalizer.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, key: UInt64) -> UInt32 {
        if key >> 63 != 0 { return UInt32(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) }
        let n = bytes.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n &+ 1)
        var i = 0
        while i + 8 <= n {
            h = mix(h, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        // The last 8 bytes, overlapping those already mixed.
        if i < n { h = mix(h, bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always)
    private static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let k = (word &* 0x87C3_7B91_1142_53D5).rotatedLeft(by: 31) &* 0x4CF5_AD43_2745_937F
        return (h ^ k).rotatedLeft(by: 27) &* 5 &+ 0x52DC_E729
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 { self << count | self >> (64 - count) }
}
