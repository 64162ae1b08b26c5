import KVStream

/// Encodes rows in PostgreSQL's COPY text format: tab-separated, `\N` for null, backslash escapes.
struct CopyRowEncoder: RowEncoder {
    var buffer: [UInt8] = []
    /// Where each column of the current row starts in `buffer`.
    private(set) var columnStarts: [Int] = []
    private var scratch: [UInt8] = []

    mutating func beginRow() { columnStarts.removeAll(keepingCapacity: true) }

    mutating func endRow() { buffer.append(UInt8(ascii: "\n")) }

    /// Appends the text of the row's `columns` (just encoded, row ended), tab-separated: the row's key, exact.
    func appendKey(columns: [Int], to key: inout [UInt8]) {
        let end = buffer.count - 1
        for (i, column) in columns.enumerated() {
            if i > 0 { key.append(UInt8(ascii: "\t")) }
            let columnEnd = column + 1 < columnStarts.count ? columnStarts[column + 1] - 1 : end
            key.append(contentsOf: buffer[columnStarts[column]..<columnEnd])
        }
    }

    private mutating func separator() {
        if !columnStarts.isEmpty { buffer.append(UInt8(ascii: "\t")) }
        columnStarts.append(buffer.count)
    }

    private mutating func appendEscaped<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }

    mutating func string(_ value: String) {
        separator()
        appendEscaped(value.utf8)
    }

    mutating func int64(_ value: Int64) {
        separator()
        JSONText.appendInteger(value, to: &buffer)
    }

    mutating func double(_ value: Double) {
        separator()
        if value.isNaN {
            buffer.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            buffer.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8)
        } else {
            buffer.append(contentsOf: value.description.utf8)
        }
    }

    mutating func bool(_ value: Bool) {
        separator()
        buffer.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    mutating func timestamp(_ epochMillis: Int64) {
        separator()
        CivilTime.appendISO8601(epochMillis: epochMillis, to: &buffer)
    }

    mutating func date(_ epochDays: Int32) {
        separator()
        CivilTime.appendDate(epochDays: Int64(epochDays), to: &buffer)
    }

    mutating func decimal(_ units: Int128, scale: Int) {
        separator()
        JSONText.appendDecimal(units, scale: scale, to: &buffer)
    }

    /// An array literal (`{"a","b"}`, elements quoted with `\` escapes), then escaped for COPY.
    mutating func stringArray(_ values: [String]) {
        separator()
        scratch.removeAll(keepingCapacity: true)
        scratch.append(UInt8(ascii: "{"))
        for (i, value) in values.enumerated() {
            if i > 0 { scratch.append(UInt8(ascii: ",")) }
            scratch.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { scratch.append(UInt8(ascii: "\\")) }
                scratch.append(byte)
            }
            scratch.append(UInt8(ascii: "\""))
        }
        scratch.append(UInt8(ascii: "}"))
        appendEscaped(scratch)
    }

    mutating func json(_ document: String) {
        separator()
        appendEscaped(document.utf8)
    }

    mutating func null() {
        separator()
        buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
    }
}

extension ColumnType {
    /// The PostgreSQL type of a column (SPEC section 4: timestamps timestamptz, money numeric).
    var postgresType: String {
        switch self {
        case .string: "text"
        case .int64: "bigint"
        case .double: "double precision"
        case .bool: "boolean"
        case .timestamp: "timestamptz"
        case .date: "date"
        case .decimal(let precision, let scale): "numeric(\(precision),\(scale))"
        case .stringArray: "text[]"
        case .json: "jsonb"
        }
    }
}
