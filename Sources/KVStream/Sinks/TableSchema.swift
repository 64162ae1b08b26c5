/// The column types sinks know how to write (PostgreSQL, Parquet and JSON each map them).
public enum ColumnType: Sendable, Hashable {
    case string
    case int64
    case double
    case bool
    /// Epoch milliseconds, UTC (`timestamptz`).
    case timestamp
    /// Days since the epoch (`date`).
    case date
    /// A fixed-point number held as an integer of `10^-scale` units (money: cents, scale 2).
    case decimal(precision: Int, scale: Int)
    case stringArray
    /// A JSON document (PostgreSQL `jsonb`).
    case json
}

public struct Column: Sendable, Hashable {
    public var name: String
    public var type: ColumnType
    public var nullable: Bool

    public init(_ name: String, _ type: ColumnType, nullable: Bool = false) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// How rows reach a table: appended, or upserted by primary key (windowed results updated by late records).
public enum WriteMode: Sendable, Hashable {
    case append
    case upsert
}

/// The shape of a sink table.
public struct TableSchema: Sendable, Hashable {
    public var columns: [Column]
    public var primaryKey: [String]
    public var mode: WriteMode

    public init(columns: [Column], primaryKey: [String] = [], mode: WriteMode = .append) {
        self.columns = columns
        self.primaryKey = primaryKey
        self.mode = mode
    }
}

/// A row type that sinks can write: it describes its table and writes its values in column order.
public protocol SinkRow: Sendable {
    static var schema: TableSchema { get }
    /// Writes this row's values, one call per column, in the order of ``schema``.
    func encode<E: RowEncoder>(to encoder: inout E)
    /// The time that places the row in a date partition of the lake (`dt=` of its event time, SPEC section 5),
    /// epoch milliseconds UTC; nil for rows outside time (they go to the partition of the day they were written).
    var partitionTime: Int64? { get }
}

extension SinkRow {
    public var partitionTime: Int64? { nil }
}

/// Receives one row's values in column order; each sink format implements it.
public protocol RowEncoder {
    mutating func string(_ value: String)
    mutating func int64(_ value: Int64)
    mutating func double(_ value: Double)
    mutating func bool(_ value: Bool)
    mutating func timestamp(_ epochMillis: Int64)
    mutating func date(_ epochDays: Int32)
    /// A fixed-point value of `units * 10^-scale`; 128 bits so that sums of `numeric(18,2)` amounts fit.
    mutating func decimal(_ units: Int128, scale: Int)
    mutating func stringArray(_ values: [String])
    mutating func json(_ document: String)
    mutating func null()
}

extension RowEncoder {
    public mutating func decimal(_ units: Int64, scale: Int) { decimal(Int128(units), scale: scale) }
    public mutating func string(_ value: String?) { if let value { string(value) } else { null() } }
    public mutating func double(_ value: Double?) { if let value { double(value) } else { null() } }
    public mutating func int64(_ value: Int64?) { if let value { int64(value) } else { null() } }
}
