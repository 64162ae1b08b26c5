/// Encodes rows as one JSON object per line, with the schema's column names as keys.
///
/// Timestamps are ISO 8601 UTC strings with milliseconds, dates `YYYY-MM-DD`, decimals JSON numbers with exactly
/// `scale` decimals (so cents are never rounded through a binary float).
public struct JSONRowEncoder: RowEncoder {
    public var buffer: [UInt8] = []
    private let keys: [[UInt8]]
    private var column = 0

    public init(columns: [String]) {
        keys = columns.map { name in
            var key: [UInt8] = []
            JSONText.appendString(name, to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
    }

    public mutating func beginRow() {
        buffer.append(UInt8(ascii: "{"))
        column = 0
    }

    public mutating func endRow() {
        precondition(column == keys.count, "a row wrote \(column) values for \(keys.count) columns")
        buffer.append(UInt8(ascii: "}"))
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func key() {
        precondition(column < keys.count, "a row wrote more values than its schema has columns")
        if column > 0 { buffer.append(UInt8(ascii: ",")) }
        buffer.append(contentsOf: keys[column])
        column += 1
    }

    public mutating func string(_ value: String) {
        key()
        JSONText.appendString(value, to: &buffer)
    }

    public mutating func int64(_ value: Int64) {
        key()
        JSONText.appendInteger(value, to: &buffer)
    }

    public mutating func double(_ value: Double) {
        key()
        if value.isFinite { buffer.append(contentsOf: value.description.utf8) } else { buffer.append(contentsOf: "null".utf8) }
    }

    public mutating func bool(_ value: Bool) {
        key()
        buffer.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func timestamp(_ epochMillis: Int64) {
        key()
        buffer.append(UInt8(ascii: "\""))
        CivilTime.appendISO8601(epochMillis: epochMillis, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    public mutating func date(_ epochDays: Int32) {
        key()
        buffer.append(UInt8(ascii: "\""))
        CivilTime.appendDate(epochDays: Int64(epochDays), to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    public mutating func decimal(_ units: Int128, scale: Int) {
        key()
        JSONText.appendDecimal(units, scale: scale, to: &buffer)
    }

    public mutating func stringArray(_ values: [String]) {
        key()
        buffer.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            JSONText.appendString(v, to: &buffer)
        }
        buffer.append(UInt8(ascii: "]"))
    }

    public mutating func json(_ document: String) {
        key()
        buffer.append(contentsOf: document.utf8)
    }

    public mutating func null() {
        key()
        buffer.append(contentsOf: "null".utf8)
    }
}
