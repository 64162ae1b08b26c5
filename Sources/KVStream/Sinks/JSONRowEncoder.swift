/// Encodes rows as one JSON object per line, with the schema's column names as keys.
///
/// Timestamps are ISO 8601 UTC strings with milliseconds, dates `YYYY-MM-DD`, decimals JSON numbers with exactly
/// `scale` decimals (so cents are never rounded through a binary float).
public struct JSONRowEncoder: RowEncoder {
    public var buffer: [UInt8] = []
    private let keys: [[UInt8]]
    private var column = 0
    /// Which columns make up ``rowKey``.
    private let keyColumns: [Bool]
    private var valueStart = 0
    /// The key columns of the last row as text (strings without their JSON quotes when they need no escaping),
    /// joined by `|` (a Kafka message key).
    public private(set) var rowKey: [UInt8] = []

    public init(columns: [String], keyColumns: [String] = []) {
        self.keyColumns = columns.map { keyColumns.contains($0) }
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
        rowKey.removeAll(keepingCapacity: true)
    }

    public mutating func endRow() {
        precondition(column == keys.count, "a row wrote \(column) values for \(keys.count) columns")
        captureKey()
        buffer.append(UInt8(ascii: "}"))
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func key() {
        precondition(column < keys.count, "a row wrote more values than its schema has columns")
        if column > 0 {
            captureKey()
            buffer.append(UInt8(ascii: ","))
        }
        buffer.append(contentsOf: keys[column])
        valueStart = buffer.count
        column += 1
    }

    /// Copies the value just written into ``rowKey`` when its column is a key column.
    private mutating func captureKey() {
        guard column > 0, keyColumns[column - 1] else { return }
        if !rowKey.isEmpty { rowKey.append(UInt8(ascii: "|")) }
        let value = buffer[valueStart...]
        let quote = UInt8(ascii: "\"")
        if value.count >= 2, value.first == quote, value.last == quote, !value.contains(UInt8(ascii: "\\")) {
            rowKey.append(contentsOf: value.dropFirst().dropLast())
        } else {
            rowKey.append(contentsOf: value)
        }
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
