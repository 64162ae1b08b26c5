/// Encodes Thrift structs with the compact protocol, the encoding of Parquet's page headers and footer.
///
/// Only what Parquet's metadata needs: structs, lists, `bool`, `i32`, `i64` and `binary`. Fields are written in
/// the order the caller gives; the caller writes them in increasing field id, as Thrift's generated code does,
/// so that most field headers fit in one byte (a delta from the previous id).
struct ThriftCompactWriter {
    /// Compact-protocol type codes.
    enum FieldType: UInt8 {
        case boolTrue = 1
        case boolFalse = 2
        case i32 = 5
        case i64 = 6
        case binary = 8
        case list = 9
        case `struct` = 12
    }

    var bytes: [UInt8] = []
    /// The id of the last field written in the innermost open struct.
    private var lastFieldId: Int16 = 0
    private var enclosingFieldIds: [Int16] = []

    /// Empties the writer for the next message, keeping its memory.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        lastFieldId = 0
        enclosingFieldIds.removeAll(keepingCapacity: true)
    }

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = id - lastFieldId
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            bytes.appendVarint(zigzag(Int64(id)))
        }
        lastFieldId = id
    }

    mutating func field(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    mutating func field(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        bytes.appendVarint(zigzag(Int64(value)))
    }

    mutating func field(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        bytes.appendVarint(zigzag(value))
    }

    mutating func field(_ id: Int16, _ value: some Collection<UInt8>) {
        fieldHeader(id, .binary)
        binary(value)
    }

    mutating func field(_ id: Int16, _ value: String) {
        field(id, value.utf8)
    }

    /// Opens a struct-valued field; close it with ``endStruct()``.
    mutating func beginStruct(_ id: Int16) {
        fieldHeader(id, .struct)
        beginStructElement()
    }

    /// Opens a struct that is an element of a list (no field header).
    mutating func beginStructElement() {
        enclosingFieldIds.append(lastFieldId)
        lastFieldId = 0
    }

    mutating func endStruct() {
        bytes.append(0)  // field stop
        lastFieldId = enclosingFieldIds.removeLast()
    }

    /// A field holding an empty struct (Parquet's unions of marker types: `STRING`, `MILLIS`, `TYPE_ORDER`...).
    mutating func emptyStruct(_ id: Int16) {
        beginStruct(id)
        endStruct()
    }

    /// Opens a list-valued field of `count` elements of type `element`; the caller then writes the elements.
    mutating func beginList(_ id: Int16, of element: FieldType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.rawValue)
        } else {
            bytes.append(0xF0 | element.rawValue)
            bytes.appendVarint(UInt64(count))
        }
    }

    /// A list element of type `i32` (Parquet's enums).
    mutating func element(_ value: Int32) {
        bytes.appendVarint(zigzag(Int64(value)))
    }

    /// A list element of type `binary`.
    mutating func element(_ value: String) {
        binary(value.utf8)
    }

    private mutating func binary(_ value: some Collection<UInt8>) {
        bytes.appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}
