import KVStream

/// How a ``TableSchema`` is laid out in Parquet: one leaf column per table column.
///
/// | column type | Parquet |
/// |---|---|
/// | `string` | `BYTE_ARRAY` (`STRING`) |
/// | `json` | `BYTE_ARRAY` (`JSON`) |
/// | `int64` | `INT64` |
/// | `double` | `DOUBLE` |
/// | `bool` | `BOOLEAN` |
/// | `timestamp` | `INT64` (`TIMESTAMP(isAdjustedToUTC = true, MILLIS)`) |
/// | `date` | `INT32` (`DATE`) |
/// | `decimal(p, s)`, p <= 18 | `INT64` (`DECIMAL(p, s)`) |
/// | `decimal(p, s)`, 18 < p <= 38 | `FIXED_LEN_BYTE_ARRAY(16)` (`DECIMAL(p, s)`), big-endian two's complement |
/// | `stringArray` | the standard 3-level `LIST` of required `STRING` elements |
///
/// Nullable columns are `OPTIONAL`, the others `REQUIRED`.
public struct ParquetSchema: Sendable {
    public let table: TableSchema
    let elements: [ParquetSchemaElement]
    let leaves: [ParquetLeaf]

    public init(_ table: TableSchema) {
        self.table = table
        var elements = [
            ParquetSchemaElement(name: "schema", childCount: Int32(table.columns.count))
        ]
        var leaves: [ParquetLeaf] = []
        for column in table.columns {
            let leaf = ParquetLeaf(column)
            leaves.append(leaf)
            let repetition: ParquetRepetition = column.nullable ? .optional : .required
            if leaf.kind == .stringArray {
                elements.append(ParquetSchemaElement(
                    name: column.name, repetition: repetition, childCount: 1, convertedType: .list, logicalType: .list))
                elements.append(ParquetSchemaElement(name: "list", repetition: .repeated, childCount: 1))
                elements.append(leaf.element(name: "element", repetition: .required))
            } else {
                elements.append(leaf.element(name: column.name, repetition: repetition))
            }
        }
        self.elements = elements
        self.leaves = leaves
    }
}

/// Which ``RowEncoder`` call writes a column, and so how its values are stored.
enum ParquetValueKind: UInt8, Sendable {
    case string, json, int64, double, bool, timestamp, date, decimal64, decimal128, stringArray

    /// Whether values are byte strings (`BYTE_ARRAY`).
    var isString: Bool { self == .string || self == .json || self == .stringArray }
}

/// One leaf column: its physical type and its maximum definition and repetition levels.
struct ParquetLeaf: Sendable {
    let name: String
    let kind: ParquetValueKind
    let nullable: Bool
    let precision: Int
    let scale: Int
    /// 0 for a required flat column, 1 for an optional one; lists add the level of their elements.
    let maxDefinitionLevel: UInt8
    let maxRepetitionLevel: UInt8

    init(_ column: Column) {
        name = column.name
        nullable = column.nullable
        var precision = 0
        var scale = 0
        switch column.type {
        case .string: kind = .string
        case .json: kind = .json
        case .int64: kind = .int64
        case .double: kind = .double
        case .bool: kind = .bool
        case .timestamp: kind = .timestamp
        case .date: kind = .date
        case .stringArray: kind = .stringArray
        case .decimal(let p, let s):
            precondition((1...38).contains(p) && (0...p).contains(s), "column \(column.name): decimal(\(p), \(s))")
            kind = p <= 18 ? .decimal64 : .decimal128
            precision = p
            scale = s
        }
        self.precision = precision
        self.scale = scale
        let isList = kind == .stringArray
        maxDefinitionLevel = (column.nullable ? 1 : 0) + (isList ? 1 : 0)
        maxRepetitionLevel = isList ? 1 : 0
    }

    var physicalType: ParquetPhysicalType {
        switch kind {
        case .string, .json, .stringArray: .byteArray
        case .int64, .timestamp, .decimal64: .int64
        case .double: .double
        case .bool: .boolean
        case .date: .int32
        case .decimal128: .fixedLenByteArray
        }
    }

    /// The path of the leaf in the schema tree, as column chunks name it.
    var path: [String] { kind == .stringArray ? [name, "list", "element"] : [name] }

    func element(name: String, repetition: ParquetRepetition) -> ParquetSchemaElement {
        var element = ParquetSchemaElement(name: name, type: physicalType, repetition: repetition)
        switch kind {
        case .string, .stringArray:
            element.convertedType = .utf8
            element.logicalType = .string
        case .json:
            element.convertedType = .json
            element.logicalType = .json
        case .timestamp:
            element.convertedType = .timestampMillis
            element.logicalType = .timestampMillisUTC
        case .date:
            element.convertedType = .date
            element.logicalType = .date
        case .decimal64, .decimal128:
            if kind == .decimal128 { element.typeLength = 16 }
            element.convertedType = .decimal
            element.logicalType = .decimal(precision: Int32(precision), scale: Int32(scale))
        case .int64, .double, .bool:
            break
        }
        return element
    }
}
