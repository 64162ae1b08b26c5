import KVStream

#if _endian(big)
#error("the Parquet writer copies numbers in host byte order, which PLAIN needs to be little-endian")
#endif

/// Writes rows of a ``TableSchema`` as a Parquet file: a ``RowEncoder`` that appends each value to its column's
/// current page, and writes a row group when it holds ``ParquetWriterOptions/rowGroupRows`` rows or about
/// ``ParquetWriterOptions/rowGroupBytes`` of values.
///
/// ```swift
/// var writer = ParquetWriter(schema: RejectedRow.schema, output: ParquetBuffer())
/// try writer.write(contentsOf: rows)  // or a row at a time: the RowEncoder calls, then endRow()
/// let file = try writer.finish().bytes
/// ```
///
/// Each column chunk is v1 data pages of about ``ParquetWriterOptions/pageBytes``, behind a dictionary page for
/// strings whose dictionary pays and stays small, compressed with LZ4_RAW or not at all, with min / max / null
/// count statistics in the footer. Pages are encoded and compressed as they fill; a row group's compressed
/// chunks wait in memory until it is written, since its rows arrive for all columns at once. See
/// ``ParquetSchema`` for the types.
///
/// - Important: Rows write one value per column, in schema order, with the call of the column's type
///   (``RowEncoder/timestamp(_:)`` for a timestamp column, ``RowEncoder/json(_:)`` for json...) and
///   ``RowEncoder/null()`` only in nullable columns; decimals come with the column's scale and fit its precision.
///   Anything else is a programming error and traps.
public struct ParquetWriter<Output: ParquetOutput>: RowEncoder {
    public let schema: ParquetSchema
    public let options: ParquetWriterOptions
    private var output: Output
    private var columns: [ColumnWriter]
    /// The column the next value belongs to.
    private var column = 0
    private var rowsInGroup = 0
    /// About the bytes of the values in the row group's finished pages, before encoding.
    private var bufferedBytes = 0
    /// Whether a column's page filled up during the current row.
    private var pageFull = false
    private var rowGroups: [ParquetRowGroup] = []
    /// Bytes handed to ``output`` so far.
    private var position: Int64 = 0
    /// Page bodies and dictionary pages are encoded here.
    private var scratch: [UInt8] = []
    private var pages: PageWriter

    /// About the size of the file so far: the bytes written plus the values of the row group's finished pages
    /// (for rolling files by size).
    public var estimatedFileBytes: Int { Int(position) + bufferedBytes }

    /// Where the file goes (to close it without finishing it).
    public var destination: Output { output }

    public init(schema: TableSchema, options: ParquetWriterOptions = .init(), output: Output) {
        self.schema = ParquetSchema(schema)
        self.options = options
        self.output = output
        columns = self.schema.leaves.map {
            ColumnWriter(leaf: $0, pageBytes: options.pageBytes, dictionaryPageBytes: options.dictionaryPageBytes)
        }
        pages = PageWriter(compression: options.compression)
    }

    /// Rows written so far, flushed or not.
    public var rowCount: Int { rowGroups.reduce(rowsInGroup) { $0 + Int($1.rowCount) } }

    /// Appends one row.
    public mutating func write<Row: SinkRow>(_ row: Row) throws {
        precondition(column == 0, "a row began before the previous one ended")
        appendValues { row.encode(to: &$0) }
        try endRow()
    }

    /// Appends rows in order, as a sink receives them.
    public mutating func write<Row: SinkRow>(contentsOf rows: [Row]) throws {
        for i in rows.indices { try write(rows[i]) }
    }

    /// Ends a row whose values were given through the ``RowEncoder`` calls; writes the row group if it is full.
    public mutating func endRow() throws {
        precondition(column == columns.count, "a row wrote \(column) values for \(columns.count) columns")
        column = 0
        rowsInGroup += 1
        if pageFull {
            for i in columns.indices where columns[i].isPageFull {
                bufferedBytes += columns[i].pageBytes
                columns[i].finishPage(scratch: &scratch, pages: &pages)
            }
            pageFull = false
        }
        if rowsInGroup >= options.rowGroupRows || bufferedBytes >= options.rowGroupBytes { try flushRowGroup() }
    }

    /// Runs `body` with an appender over the columns, from the current column on.
    @inline(__always)
    private mutating func appendValues(_ body: (inout ColumnAppender) -> Void) {
        let start = column
        let appender = columns.withUnsafeMutableBufferPointer { columns in
            var appender = ColumnAppender(columns: columns, column: start)
            body(&appender)
            return appender
        }
        column = appender.column
        if appender.pageFull { pageFull = true }
    }

    /// Writes the rows buffered so far as a row group (nothing if there are none).
    public mutating func flushRowGroup() throws {
        precondition(column == 0, "a row group cannot end in the middle of a row")
        guard rowsInGroup > 0 else { return }
        try writeMagicIfFirst()
        var chunks: [ParquetColumnChunk] = []
        chunks.reserveCapacity(columns.count)
        for i in columns.indices {
            let chunk = try columns[i].finishChunk(at: position, to: &output, scratch: &scratch, pages: &pages)
            position += chunk.compressedSize
            chunks.append(chunk)
        }
        rowGroups.append(ParquetRowGroup(columns: chunks, rowCount: Int64(rowsInGroup)))
        rowsInGroup = 0
        bufferedBytes = 0
    }

    /// Writes the last row group and the footer, and returns the output.
    public consuming func finish() throws -> Output {
        try flushRowGroup()
        try writeMagicIfFirst()
        var footer = ThriftCompactWriter()
        ParquetFileMetaData(
            schema: schema.elements, rowGroups: rowGroups, leafCount: columns.count, createdBy: "kvstream"
        ).encode(to: &footer)
        footer.bytes.appendLittleEndian(UInt32(footer.bytes.count))
        footer.bytes.append(contentsOf: "PAR1".utf8)
        try footer.bytes.withUnsafeBytes { try output.write($0) }
        return output
    }

    private mutating func writeMagicIfFirst() throws {
        guard position == 0 else { return }
        try Array("PAR1".utf8).withUnsafeBytes { try output.write($0) }
        position = 4
    }

    public mutating func string(_ value: String) { appendValues { $0.string(value) } }
    public mutating func json(_ document: String) { appendValues { $0.json(document) } }
    public mutating func int64(_ value: Int64) { appendValues { $0.int64(value) } }
    public mutating func timestamp(_ epochMillis: Int64) { appendValues { $0.timestamp(epochMillis) } }
    public mutating func double(_ value: Double) { appendValues { $0.double(value) } }
    public mutating func bool(_ value: Bool) { appendValues { $0.bool(value) } }
    public mutating func date(_ epochDays: Int32) { appendValues { $0.date(epochDays) } }
    public mutating func decimal(_ units: Int128, scale: Int) { appendValues { $0.decimal(units, scale: scale) } }
    public mutating func stringArray(_ values: [String]) { appendValues { $0.stringArray(values) } }
    public mutating func null() { appendValues { $0.null() } }
}

/// A writer owns its buffers outright (values all the way down), so it can move between tasks with its output.
extension ParquetWriter: Sendable where Output: Sendable {}
