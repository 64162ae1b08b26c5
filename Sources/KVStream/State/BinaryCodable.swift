/// A compact, deterministic binary codec for keys and state values.
///
/// Keys are hashed to key groups from their encoding, and RocksDB stores the same bytes, so an encoding must
/// be a pure function of the value: the same value gives the same bytes in every process and on every machine.
/// Integers are big-endian so that encoded keys sort like their values.
public protocol BinaryCodable {
    func encode(to writer: inout BinaryWriter)
    init(from reader: inout BinaryReader) throws(BinaryDecodingError)
}

/// A key of keyed state: hashable in memory, and encodable so its key group is stable across processes.
public typealias StateKey = BinaryCodable & Hashable & Sendable

/// Appends encoded values to a growable byte buffer; reuse one writer to avoid allocating per record.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func reset() { removeAll() }

    @usableFromInline mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inlinable public mutating func write(_ byte: UInt8) { append(byte) }

    @usableFromInline mutating func append(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write<I: FixedWidthInteger>(bigEndian value: I) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Variable-length unsigned integer (LEB128): small lengths and counts take one byte.
    public mutating func writeVarint(_ value: UInt64) {
        Self.forEachVarintByte(of: value) { bytes.append($0) }
    }

    /// The bytes of `value`'s varint, in order: what ``writeVarint(_:)`` writes, and what ``KeyGroup`` hashes for a
    /// string key's count without writing it.
    @inlinable
    public static func forEachVarintByte(of value: UInt64, _ body: (UInt8) -> Void) {
        var v = value
        while v >= 0x80 {
            body(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        body(UInt8(v))
    }

    public mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
}

public struct BinaryDecodingError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads values back from bytes written by ``BinaryWriter``.
public struct BinaryReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func readByte() throws(BinaryDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw BinaryDecodingError("unexpected end of data at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func read<I: FixedWidthInteger>(bigEndian: I.Type) throws(BinaryDecodingError) -> I {
        let size = MemoryLayout<I>.size
        guard offset + size <= bytes.count else {
            throw BinaryDecodingError("unexpected end of data at byte \(offset)")
        }
        var value: I = 0
        for i in 0..<size { value = value << 8 | I(bytes[offset + i]) }
        offset += size
        return value
    }

    public mutating func readVarint() throws(BinaryDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw BinaryDecodingError("varint too long at byte \(offset)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// The next `count` bytes, copied out.
    public mutating func readBytes(_ count: Int) throws(BinaryDecodingError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else {
            throw BinaryDecodingError("\(count) bytes run past the end at byte \(offset)")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readString() throws(BinaryDecodingError) -> String {
        let count = Int(try readVarint())
        guard count >= 0, offset + count <= bytes.count else {
            throw BinaryDecodingError("string of \(count) bytes runs past the end at byte \(offset)")
        }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }
}
