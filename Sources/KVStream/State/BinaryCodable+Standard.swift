extension String: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) { self = try reader.readString() }
}

extension Int64: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(bigEndian: UInt64(bitPattern: self) ^ (1 << 63)) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        self = Int64(bitPattern: try reader.read(bigEndian: UInt64.self) ^ (1 << 63))
    }
}

extension Int: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { Int64(self).encode(to: &writer) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) { self = Int(try Int64(from: &reader)) }
}

extension UInt64: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(bigEndian: self) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        self = try reader.read(bigEndian: UInt64.self)
    }
}

extension Int128: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) {
        let biased = UInt128(bitPattern: self) ^ (1 << 127)
        writer.write(bigEndian: UInt64(truncatingIfNeeded: biased >> 64))
        writer.write(bigEndian: UInt64(truncatingIfNeeded: biased))
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        let high = UInt128(try reader.read(bigEndian: UInt64.self))
        let low = UInt128(try reader.read(bigEndian: UInt64.self))
        self = Int128(bitPattern: (high << 64 | low) ^ (1 << 127))
    }
}

extension Int32: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(bigEndian: UInt32(bitPattern: self) ^ (1 << 31)) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        self = Int32(bitPattern: try reader.read(bigEndian: UInt32.self) ^ (1 << 31))
    }
}

extension UInt8: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) { self = try reader.readByte() }
}

extension Bool: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(self ? 1 : 0) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) { self = try reader.readByte() != 0 }
}

extension Double: BinaryCodable {
    /// Values that compare equal encode equally (-0.0 as 0.0, every NaN as one NaN), so a `Double` in a key
    /// always lands in the same key group.
    public func encode(to writer: inout BinaryWriter) {
        let canonical = isNaN ? Double.nan : (self == 0 ? 0.0 : self)
        writer.write(bigEndian: canonical.bitPattern)
    }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        self = Double(bitPattern: try reader.read(bigEndian: UInt64.self))
    }
}

extension Optional: BinaryCodable where Wrapped: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) {
        switch self {
        case .none: writer.write(0)
        case .some(let value):
            writer.write(1)
            value.encode(to: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        self = try reader.readByte() == 0 ? nil : Wrapped(from: &reader)
    }
}

extension Array: BinaryCodable where Element: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(count))
        for element in self { element.encode(to: &writer) }
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        let count = Int(try reader.readVarint())
        self = []
        reserveCapacity(Swift.min(count, 1 << 16))
        for _ in 0..<count { append(try Element(from: &reader)) }
    }
}

extension Set: BinaryCodable where Element: BinaryCodable {
    /// Elements are written sorted by their encoding, so equal sets encode equally in every process (iteration
    /// order depends on the process's hash seed).
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(count))
        let encoded = map { element -> [UInt8] in
            var w = BinaryWriter()
            element.encode(to: &w)
            return w.bytes
        }.sorted { $0.lexicographicallyPrecedes($1) }
        for bytes in encoded { bytes.withUnsafeBytes { writer.write(raw: $0) } }
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        let count = Int(try reader.readVarint())
        self = []
        reserveCapacity(Swift.min(count, 1 << 16))
        for _ in 0..<count { insert(try Element(from: &reader)) }
    }
}

/// A composite key of two parts, for jobs that key by a pair without declaring a struct.
public struct KeyPair<A: StateKey, B: StateKey>: StateKey {
    public var first: A
    public var second: B

    public init(_ first: A, _ second: B) {
        self.first = first
        self.second = second
    }

    public func encode(to writer: inout BinaryWriter) {
        first.encode(to: &writer)
        second.encode(to: &writer)
    }

    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        first = try A(from: &reader)
        second = try B(from: &reader)
    }
}
