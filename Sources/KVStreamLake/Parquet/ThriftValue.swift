/// A Thrift value in the compact protocol, decoded without a schema: enough to read a Parquet footer, change a few
/// fields (offsets, counts) and write it back with every other field as it was, known to us or not.
indirect enum ThriftValue: Equatable {
    case bool(Bool)
    case byte(Int8)
    case i16(Int16)
    case i32(Int32)
    case i64(Int64)
    case double(UInt64)
    case binary([UInt8])
    case list(elementType: UInt8, [ThriftValue])
    case set(elementType: UInt8, [ThriftValue])
    case map(keyType: UInt8, valueType: UInt8, [(ThriftValue, ThriftValue)])
    case `struct`(ThriftStruct)

    static func == (a: ThriftValue, b: ThriftValue) -> Bool {
        switch (a, b) {
        case (.bool(let x), .bool(let y)): x == y
        case (.byte(let x), .byte(let y)): x == y
        case (.i16(let x), .i16(let y)): x == y
        case (.i32(let x), .i32(let y)): x == y
        case (.i64(let x), .i64(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.binary(let x), .binary(let y)): x == y
        case (.list(let t, let x), .list(let u, let y)), (.set(let t, let x), .set(let u, let y)): t == u && x == y
        case (.map(let k, let v, let x), .map(let l, let w, let y)):
            k == l && v == w && x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.struct(let x), .struct(let y)): x == y
        default: false
        }
    }

    /// The compact protocol's type code of this value.
    var typeCode: UInt8 {
        switch self {
        case .bool(let v): v ? 1 : 2
        case .byte: 3
        case .i16: 4
        case .i32: 5
        case .i64: 6
        case .double: 7
        case .binary: 8
        case .list: 9
        case .set: 10
        case .map: 11
        case .struct: 12
        }
    }

    var int64: Int64? {
        switch self {
        case .byte(let v): Int64(v)
        case .i16(let v): Int64(v)
        case .i32(let v): Int64(v)
        case .i64(let v): v
        default: nil
        }
    }

    var structValue: ThriftStruct? { if case .struct(let s) = self { s } else { nil } }

    var elements: [ThriftValue]? {
        switch self {
        case .list(_, let values), .set(_, let values): values
        default: nil
        }
    }
}

/// A struct's fields in the order they were read (Thrift writers emit increasing ids).
struct ThriftStruct: Equatable {
    var fields: [(id: Int16, value: ThriftValue)] = []

    static func == (a: ThriftStruct, b: ThriftStruct) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.id == $1.id && $0.value == $1.value }
    }

    subscript(id: Int16) -> ThriftValue? {
        get { fields.first { $0.id == id }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.id == id }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                let at = fields.firstIndex { $0.id > id } ?? fields.endIndex
                fields.insert((id, newValue), at: at)
            }
        }
    }

    /// Adds `delta` to an integer field, if the struct has it.
    mutating func shift(_ id: Int16, by delta: Int64) {
        guard let value = self[id]?.int64 else { return }
        self[id] = .i64(value + delta)
    }
}

/// Reads the compact protocol; throws on truncated or malformed input instead of trapping.
struct ThriftCompactReader {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private let bytes: [UInt8]
    private(set) var position: Int
    private var depth = 0

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    mutating func readStruct() throws(Malformed) -> ThriftStruct {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw Malformed(description: "structs nested too deep") }
        var result = ThriftStruct()
        var lastId: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return result }
            let type = header & 0x0F
            let delta = Int16(header >> 4)
            let id: Int16
            if delta != 0 {
                id = lastId &+ delta
            } else {
                guard let long = Int16(exactly: unzigzag(try varint())) else { throw Malformed(description: "field id") }
                id = long
            }
            lastId = id
            let value: ThriftValue
            switch type {
            case 1: value = .bool(true)
            case 2: value = .bool(false)
            default: value = try read(type: type)
            }
            result.fields.append((id, value))
        }
    }

    private mutating func read(type: UInt8) throws(Malformed) -> ThriftValue {
        switch type {
        case 1, 2: return .bool(try byte() == 1)  // a bool element of a list, set or map
        case 3: return .byte(Int8(bitPattern: try byte()))
        case 4: return .i16(Int16(truncatingIfNeeded: unzigzag(try varint())))
        case 5: return .i32(Int32(truncatingIfNeeded: unzigzag(try varint())))
        case 6: return .i64(unzigzag(try varint()))
        case 7:
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(try byte()) << (8 * i) }
            return .double(bits)
        case 8:
            let count = try length()
            defer { position += count }
            return .binary(Array(bytes[position..<position + count]))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 { count = try length() }
            let elementType = header & 0x0F
            var values: [ThriftValue] = []
            for _ in 0..<count { values.append(try read(type: elementType)) }
            return type == 9 ? .list(elementType: elementType, values) : .set(elementType: elementType, values)
        case 11:
            let count = try length()
            guard count > 0 else { return .map(keyType: 0, valueType: 0, []) }
            let types = try byte()
            var entries: [(ThriftValue, ThriftValue)] = []
            for _ in 0..<count { entries.append((try read(type: types >> 4), try read(type: types & 0x0F))) }
            return .map(keyType: types >> 4, valueType: types & 0x0F, entries)
        case 12: return .struct(try readStruct())
        default: throw Malformed(description: "unknown type \(type) at \(position)")
        }
    }

    private mutating func byte() throws(Malformed) -> UInt8 {
        guard position < bytes.count else { throw Malformed(description: "truncated at \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw Malformed(description: "varint too long at \(position)") }
        }
    }

    /// A count or byte length, which must fit in what is left.
    private mutating func length() throws(Malformed) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - position) else { throw Malformed(description: "length \(value) at \(position)") }
        return Int(value)
    }

    private func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}

extension ThriftStruct {
    /// The struct in the compact protocol, fields in increasing id order as Thrift writes them.
    func encode(to out: inout [UInt8]) {
        var lastId: Int16 = 0
        for (id, value) in fields.sorted(by: { $0.id < $1.id }) {
            let delta = Int(id) - Int(lastId)
            if delta > 0 && delta <= 15 {
                out.append(UInt8(delta) << 4 | value.typeCode)
            } else {
                out.append(value.typeCode)
                out.appendVarint(Self.zigzag(Int64(id)))
            }
            lastId = id
            if case .bool = value { continue }  // the value is in the type code
            value.encodeBody(to: &out)
        }
        out.append(0)
    }

    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
}

extension ThriftValue {
    /// The value without a field header (a list element, or after one).
    fileprivate func encodeBody(to out: inout [UInt8]) {
        switch self {
        case .bool(let v): out.append(v ? 1 : 2)
        case .byte(let v): out.append(UInt8(bitPattern: v))
        case .i16(let v): out.appendVarint(ThriftStruct.zigzag(Int64(v)))
        case .i32(let v): out.appendVarint(ThriftStruct.zigzag(Int64(v)))
        case .i64(let v): out.appendVarint(ThriftStruct.zigzag(v))
        case .double(let bits): out.appendLittleEndian(bits)
        case .binary(let v):
            out.appendVarint(UInt64(v.count))
            out.append(contentsOf: v)
        case .list(let type, let values), .set(let type, let values):
            if values.count < 15 {
                out.append(UInt8(values.count) << 4 | type)
            } else {
                out.append(0xF0 | type)
                out.appendVarint(UInt64(values.count))
            }
            for value in values { value.encodeBody(to: &out) }
        case .map(let keyType, let valueType, let entries):
            out.appendVarint(UInt64(entries.count))
            guard !entries.isEmpty else { return }
            out.append(keyType << 4 | valueType)
            for (key, value) in entries {
                key.encodeBody(to: &out)
                value.encodeBody(to: &out)
            }
        case .struct(let s): s.encode(to: &out)
        }
    }
}
