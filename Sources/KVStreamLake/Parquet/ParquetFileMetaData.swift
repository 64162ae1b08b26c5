/// The parts of Parquet's Thrift definitions (`parquet.thrift`) this writer emits, with the field ids of the
/// format so that ``ThriftCompactWriter`` can encode them.
enum ParquetPhysicalType: Int32 {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7
}

enum ParquetRepetition: Int32 {
    case required = 0
    case optional = 1
    case repeated = 2
}

enum ParquetEncoding: Int32 {
    case plain = 0
    /// The RLE / bit-packing hybrid (levels).
    case rle = 3
    case rleDictionary = 8
}

enum ParquetPageType: Int32 {
    case dataPage = 0
    case dictionaryPage = 2
}

/// The legacy annotations, written beside the logical types for older readers.
enum ParquetConvertedType: Int32 {
    case utf8 = 0
    case list = 3
    case decimal = 5
    case date = 6
    case timestampMillis = 9
    case json = 19
}

/// `LogicalType`, a Thrift union: the field id says which.
enum ParquetLogicalType {
    case string
    case list
    case decimal(precision: Int32, scale: Int32)
    case date
    /// `TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS)`.
    case timestampMillisUTC
    case json

    func encode(to w: inout ThriftCompactWriter) {
        switch self {
        case .string: w.emptyStruct(1)
        case .list: w.emptyStruct(3)
        case .decimal(let precision, let scale):
            w.beginStruct(5)
            w.field(1, scale)
            w.field(2, precision)
            w.endStruct()
        case .date: w.emptyStruct(6)
        case .timestampMillisUTC:
            w.beginStruct(8)
            w.field(1, true)
            w.beginStruct(2)
            w.emptyStruct(1)  // TimeUnit.MILLIS
            w.endStruct()
            w.endStruct()
        case .json: w.emptyStruct(12)
        }
    }
}

/// One node of the flattened schema tree (the root, a group or a leaf column).
struct ParquetSchemaElement {
    var name: String
    var type: ParquetPhysicalType?
    var typeLength: Int32?
    var repetition: ParquetRepetition?
    var childCount: Int32?
    var convertedType: ParquetConvertedType?
    var logicalType: ParquetLogicalType?

    func encode(to w: inout ThriftCompactWriter) {
        w.beginStructElement()
        if let type { w.field(1, type.rawValue) }
        if let typeLength { w.field(2, typeLength) }
        if let repetition { w.field(3, repetition.rawValue) }
        w.field(4, name)
        if let childCount { w.field(5, childCount) }
        if let convertedType { w.field(6, convertedType.rawValue) }
        if case .decimal(let precision, let scale) = logicalType {
            w.field(7, scale)
            w.field(8, precision)
        }
        if let logicalType {
            w.beginStruct(10)
            logicalType.encode(to: &w)
            w.endStruct()
        }
        w.endStruct()
    }
}

/// Column chunk statistics. Min and max are the plain encoding of the values (big-endian for decimals in fixed
/// bytes), compared as the column's logical type orders them.
struct ParquetStatistics {
    var nullCount: Int64
    var minValue: [UInt8]?
    var maxValue: [UInt8]?

    func encode(to w: inout ThriftCompactWriter, fieldId: Int16) {
        w.beginStruct(fieldId)
        w.field(3, nullCount)
        if let maxValue, let minValue {
            w.field(5, maxValue)
            w.field(6, minValue)
        }
        w.endStruct()
    }
}

/// `ColumnChunk` with its `ColumnMetaData`, for a chunk stored in the footer's own file.
struct ParquetColumnChunk {
    var type: ParquetPhysicalType
    var encodings: [ParquetEncoding]
    var path: [String]
    var codec: ParquetCompression
    var valueCount: Int64
    var uncompressedSize: Int64
    var compressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: ParquetStatistics

    /// Where the chunk starts: its dictionary page, or its first data page.
    var fileOffset: Int64 { dictionaryPageOffset ?? dataPageOffset }

    func encode(to w: inout ThriftCompactWriter) {
        w.beginStructElement()
        w.field(2, fileOffset)
        w.beginStruct(3)
        w.field(1, type.rawValue)
        w.beginList(2, of: .i32, count: encodings.count)
        for encoding in encodings { w.element(encoding.rawValue) }
        w.beginList(3, of: .binary, count: path.count)
        for name in path { w.element(name) }
        w.field(4, codec.thriftValue)
        w.field(5, valueCount)
        w.field(6, uncompressedSize)
        w.field(7, compressedSize)
        w.field(9, dataPageOffset)
        if let dictionaryPageOffset { w.field(11, dictionaryPageOffset) }
        statistics.encode(to: &w, fieldId: 12)
        w.endStruct()
        w.endStruct()
    }
}

struct ParquetRowGroup {
    var columns: [ParquetColumnChunk]
    var rowCount: Int64

    func encode(to w: inout ThriftCompactWriter) {
        w.beginStructElement()
        w.beginList(1, of: .struct, count: columns.count)
        for column in columns { column.encode(to: &w) }
        w.field(2, columns.reduce(0) { $0 + $1.uncompressedSize })
        w.field(3, rowCount)
        w.field(5, columns.first?.fileOffset ?? 0)
        w.field(6, columns.reduce(0) { $0 + $1.compressedSize })
        w.endStruct()
    }
}

/// The footer.
struct ParquetFileMetaData {
    var schema: [ParquetSchemaElement]
    var rowGroups: [ParquetRowGroup]
    var leafCount: Int
    var createdBy: String

    func encode(to w: inout ThriftCompactWriter) {
        w.beginStructElement()
        w.field(1, Int32(2))  // format version 2: logical types, LZ4_RAW
        w.beginList(2, of: .struct, count: schema.count)
        for element in schema { element.encode(to: &w) }
        w.field(3, rowGroups.reduce(0) { $0 + $1.rowCount })
        w.beginList(4, of: .struct, count: rowGroups.count)
        for group in rowGroups { group.encode(to: &w) }
        w.field(6, createdBy)
        // TYPE_ORDER for every leaf: min_value / max_value follow each logical type's sort order.
        w.beginList(7, of: .struct, count: leafCount)
        for _ in 0..<leafCount {
            w.beginStructElement()
            w.emptyStruct(1)
            w.endStruct()
        }
        w.endStruct()
    }
}

/// A page header: a v1 data page or a dictionary page.
enum ParquetPageHeader {
    case data(valueCount: Int32, encoding: ParquetEncoding)
    case dictionary(valueCount: Int32)

    func encode(to w: inout ThriftCompactWriter, uncompressedSize: Int32, compressedSize: Int32) {
        w.beginStructElement()
        switch self {
        case .data(let valueCount, let encoding):
            w.field(1, ParquetPageType.dataPage.rawValue)
            w.field(2, uncompressedSize)
            w.field(3, compressedSize)
            w.beginStruct(5)
            w.field(1, valueCount)
            w.field(2, encoding.rawValue)
            w.field(3, ParquetEncoding.rle.rawValue)
            w.field(4, ParquetEncoding.rle.rawValue)
            w.endStruct()
        case .dictionary(let valueCount):
            w.field(1, ParquetPageType.dictionaryPage.rawValue)
            w.field(2, uncompressedSize)
            w.field(3, compressedSize)
            w.beginStruct(7)
            w.field(1, valueCount)
            w.field(2, ParquetEncoding.plain.rawValue)
            w.endStruct()
        }
        w.endStruct()
    }
}
