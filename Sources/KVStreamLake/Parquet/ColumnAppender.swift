import KVStream

/// Appends one row's values to the columns of a ``ParquetWriter``, through a pointer to its column array: the
/// writer lends it for a whole row, so that no value pays for the array's uniqueness and bounds checks.
///
/// Pages that fill up are encoded by the writer when the row ends (pages end at row boundaries anyway).
struct ColumnAppender: RowEncoder {
    let columns: UnsafeMutableBufferPointer<ColumnWriter>
    /// The column the next value belongs to.
    var column: Int
    /// Whether a column's page is full.
    var pageFull = false

    @inline(__always)
    private mutating func next() -> Int {
        let c = column
        precondition(c < columns.count, "a row wrote more values than its schema has columns")
        column = c + 1
        return c
    }

    @inline(__always)
    mutating func string(_ value: String) {
        if columns[next()].append(string: value, as: .string) { pageFull = true }
    }

    @inline(__always)
    mutating func json(_ document: String) {
        if columns[next()].append(string: document, as: .json) { pageFull = true }
    }

    @inline(__always)
    mutating func int64(_ value: Int64) {
        if columns[next()].append(int64: value, as: .int64) { pageFull = true }
    }

    @inline(__always)
    mutating func timestamp(_ epochMillis: Int64) {
        if columns[next()].append(int64: epochMillis, as: .timestamp) { pageFull = true }
    }

    @inline(__always)
    mutating func double(_ value: Double) {
        if columns[next()].append(double: value) { pageFull = true }
    }

    @inline(__always)
    mutating func bool(_ value: Bool) {
        if columns[next()].append(bool: value) { pageFull = true }
    }

    @inline(__always)
    mutating func date(_ epochDays: Int32) {
        if columns[next()].append(date: epochDays) { pageFull = true }
    }

    @inline(__always)
    mutating func decimal(_ units: Int128, scale: Int) {
        if columns[next()].append(decimal: units, scale: scale) { pageFull = true }
    }

    @inline(__always)
    mutating func stringArray(_ values: [String]) {
        if columns[next()].append(list: values) { pageFull = true }
    }

    @inline(__always)
    mutating func null() {
        if columns[next()].appendNull() { pageFull = true }
    }
}
