/// Strings PLAIN-encoded (each a 4-byte little-endian length, then its bytes), appended one at a time.
///
/// Array's `append(contentsOf:)` goes through generic collection code that costs more than copying the few bytes
/// of a typical string. Here the storage is an array kept longer than the bytes in use (zero-filled spare room),
/// and an append is a capacity check and a copy through a pointer.
struct PlainByteArrays {
    private var storage: [UInt8] = []
    /// Bytes in use.
    private(set) var byteCount = 0

    @inline(__always)
    mutating func append(_ value: UnsafeRawBufferPointer) {
        let n = value.count
        let needed = byteCount + 4 + n
        if needed > storage.count { grow(to: needed) }
        storage.withUnsafeMutableBytes { storage in
            let destination = storage.baseAddress! + byteCount
            destination.storeBytes(of: UInt32(n).littleEndian, as: UInt32.self)
            Self.copy(value, to: destination + 4)
        }
        byteCount = needed
    }

    /// Copies `value` to `destination`: short values inline, as two overlapping words (a call to `memcpy` costs
    /// more than their bytes).
    @inline(__always)
    private static func copy(_ value: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer) {
        let n = value.count
        guard let source = value.baseAddress else { return }
        switch n {
        case 8...16:
            destination.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (destination + n - 8).storeBytes(
                of: source.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), as: UInt64.self)
        case 4..<8:
            destination.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
            (destination + n - 4).storeBytes(
                of: source.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self), as: UInt32.self)
        case 1..<4:
            for k in 0..<n {
                let byte = source.load(fromByteOffset: k, as: UInt8.self)
                destination.storeBytes(of: byte, toByteOffset: k, as: UInt8.self)
            }
        default:
            destination.copyMemory(from: source, byteCount: n)
        }
    }

    private mutating func grow(to needed: Int) {
        storage.append(contentsOf: repeatElement(0, count: Swift.max(needed, 2 * storage.count, 4096) - storage.count))
    }

    /// Forgets the bytes, keeping the memory.
    mutating func removeAll() {
        byteCount = 0
    }

    /// The bytes in use.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<byteCount])) }
    }
}
