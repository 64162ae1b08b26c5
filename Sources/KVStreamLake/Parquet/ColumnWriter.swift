/// Encodes one leaf column of the row group being built.
///
/// Values are appended to the arrays of the page being filled (only the array of the column's kind fills up,
/// with no allocation per value); when the page reaches its size it is encoded, compressed and appended to the
/// chunk's data pages, and its arrays are reused for the next one.
///
/// Strings are dictionary-encoded until the dictionary outgrows its limit, then PLAIN for the rest of the chunk,
/// as Arrow's writer does: the chunk then holds pages of both encodings, and its dictionary page covers the first
/// ones. A dictionary that does not pay on the chunk's first page (mostly distinct values) is dropped at once. A page's strings are looked up in the dictionary when the page ends, one column at a time, rather than
/// as rows arrive: the rows of a wide table would otherwise take turns at every column's hash table, and their
/// lookups would miss the cache.
struct ColumnWriter {
    let leaf: ParquetLeaf
    private let pageLimit: Int
    /// Bytes of dictionary past which a chunk turns PLAIN; nil: no dictionary (and always nil but for strings).
    private let dictionaryLimit: Int?
    /// The largest magnitude a decimal of the column's precision holds.
    private let decimalBound: UInt128

    // The page being filled.
    /// One per level entry when the column is nullable or a list (``ParquetLeaf/maxDefinitionLevel`` > 0).
    var definitionLevels: [UInt8] = []
    /// One per level entry of a list column: 0 starts a row, 1 continues its list.
    var repetitionLevels: [UInt8] = []
    /// `int64`, `timestamp` and `decimal(p <= 18)` values.
    var int64s: [Int64] = []
    /// `date` values.
    var int32s: [Int32] = []
    var doubles: [Double] = []
    var bools: [Bool] = []
    /// `decimal(p > 18)` values.
    var decimals: [Int128] = []
    /// `string`, `json` and list element values, PLAIN-encoded (4-byte little-endian length, then the bytes).
    var plain = PlainByteArrays()
    /// Their dictionary entries, found when the page ends.
    var indices: [UInt32] = []
    /// Level entries in the page: rows for a flat column; for a list, one per element or per null or empty list.
    var levelCount = 0
    /// About the bytes the page's values take.
    var pageBytes = 0

    // The chunk.
    var dictionary = ByteArrayDictionary()
    private(set) var isDictionaryEncoded: Bool
    /// The chunk's data pages, encoded.
    var dataPages: [[UInt8]] = []
    var hasDictionaryPages = false
    var chunkLevelCount = 0
    var uncompressedSize = 0
    var compressedSize = 0
    var statistics = ColumnStatistics()

    init(leaf: ParquetLeaf, pageBytes: Int, dictionaryPageBytes: Int?) {
        self.leaf = leaf
        pageLimit = pageBytes
        dictionaryLimit = leaf.kind.isString ? dictionaryPageBytes : nil
        isDictionaryEncoded = dictionaryLimit != nil
        var bound: UInt128 = 1
        for _ in 0..<leaf.precision { bound *= 10 }
        decimalBound = bound - 1
    }

    /// Whether the page is due to be encoded.
    @inline(__always)
    var isPageFull: Bool { pageBytes >= pageLimit }

    // Each append checks that the call suits the column, adds one row's value and returns whether the page is
    // full, in one access to the column (the writer keeps its columns in an array).

    @inline(__always)
    private func expect(_ kind: ParquetValueKind) {
        precondition(leaf.kind == kind, "column \(leaf.name) is written with the call for \(leaf.kind), not \(kind)")
    }

    /// A value of `bytes` bytes is present in a flat column.
    @inline(__always)
    private mutating func present(_ bytes: Int) -> Bool {
        if leaf.maxDefinitionLevel > 0 { definitionLevels.append(1) }
        levelCount += 1
        pageBytes &+= bytes
        return pageBytes >= pageLimit
    }

    @inline(__always)
    mutating func append(int64 value: Int64, as kind: ParquetValueKind) -> Bool {
        expect(kind)
        int64s.append(value)
        return present(8)
    }

    @inline(__always)
    mutating func append(double value: Double) -> Bool {
        expect(.double)
        doubles.append(value)
        return present(8)
    }

    @inline(__always)
    mutating func append(bool value: Bool) -> Bool {
        expect(.bool)
        bools.append(value)
        return present(1)
    }

    @inline(__always)
    mutating func append(date value: Int32) -> Bool {
        expect(.date)
        int32s.append(value)
        return present(4)
    }

    mutating func append(decimal units: Int128, scale: Int) -> Bool {
        precondition(leaf.kind == .decimal64 || leaf.kind == .decimal128, "column \(leaf.name) is not a decimal")
        precondition(scale == leaf.scale, "column \(leaf.name) has scale \(leaf.scale), a value came with \(scale)")
        precondition(
            units.magnitude <= decimalBound,
            "\(units) overflows column \(leaf.name), decimal(\(leaf.precision), \(leaf.scale))")
        if leaf.kind == .decimal64 {
            int64s.append(Int64(units))
            return present(8)
        }
        decimals.append(units)
        return present(16)
    }

    @inline(__always)
    mutating func append(string value: String, as kind: ParquetValueKind) -> Bool {
        expect(kind)
        appendBytes(of: value)
        return present(0)
    }

    mutating func appendNull() -> Bool {
        precondition(leaf.nullable, "column \(leaf.name) is not nullable")
        definitionLevels.append(0)
        if leaf.maxRepetitionLevel > 0 { repetitionLevels.append(0) }
        levelCount += 1
        pageBytes &+= 1
        return pageBytes >= pageLimit
    }

    mutating func append(list values: [String]) -> Bool {
        expect(.stringArray)
        let defined = leaf.maxDefinitionLevel
        guard !values.isEmpty else {
            repetitionLevels.append(0)
            definitionLevels.append(defined - 1)
            levelCount += 1
            pageBytes &+= 2
            return pageBytes >= pageLimit
        }
        for (i, value) in values.enumerated() {
            repetitionLevels.append(i == 0 ? 0 : 1)
            definitionLevels.append(defined)
            appendBytes(of: value)
            pageBytes &+= 2
        }
        levelCount += values.count
        return pageBytes >= pageLimit
    }

    @inline(__always)
    private mutating func appendBytes(of value: String) {
        // Native strings lend their UTF-8 without a copy (or a retain, which `withUTF8` on a copy would cost);
        // bridged ones are made contiguous first.
        let appended: Void? = value.utf8.withContiguousStorageIfAvailable { appendBytes(UnsafeRawBufferPointer($0)) }
        if appended == nil {
            var contiguous = value
            contiguous.withUTF8 { appendBytes(UnsafeRawBufferPointer($0)) }
        }
    }

    @inline(__always)
    private mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        plain.append(bytes)
        pageBytes &+= 4 + bytes.count
    }

    /// Empties the page's arrays, keeping their memory.
    mutating func clearPage() {
        definitionLevels.removeAll(keepingCapacity: true)
        repetitionLevels.removeAll(keepingCapacity: true)
        int64s.removeAll(keepingCapacity: true)
        int32s.removeAll(keepingCapacity: true)
        doubles.removeAll(keepingCapacity: true)
        bools.removeAll(keepingCapacity: true)
        decimals.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
        plain.removeAll()
        levelCount = 0
        pageBytes = 0
    }

    /// Looks the page's `count` strings up in the dictionary, adding new ones, into ``indices``. Returns false, and turns
    /// the rest of the chunk PLAIN, if the dictionary outgrows its limit, or if on the chunk's first page it does
    /// not pay (dictionary and indices no smaller than the PLAIN values, as parquet-mr decides: mostly distinct
    /// values such as ids). Entries added by a page that ends up PLAIN stay in the dictionary unused, which
    /// readers allow; if no page uses the dictionary it is not written.
    mutating func lookUpPageStrings(count: Int) -> Bool {
        let limit = dictionaryLimit!
        indices.removeAll(keepingCapacity: true)
        indices.append(contentsOf: repeatElement(0, count: count))
        var fits = plain.withUnsafeBytes { page in
            indices.withUnsafeMutableBufferPointer { dictionary.indices(of: page, into: $0, limit: limit) }
        }
        if fits && !hasDictionaryPages {
            let indexBytes = indices.count * RLEHybridEncoder.bitWidth(maxValue: dictionary.count - 1) / 8
            fits = dictionary.plain.byteCount + indexBytes < plain.byteCount
        }
        if !fits { isDictionaryEncoded = false }
        return fits
    }

    /// Starts the next chunk: no pages, a fresh dictionary, statistics from nothing.
    mutating func clearChunk() {
        clearPage()
        dictionary.removeAll()
        isDictionaryEncoded = dictionaryLimit != nil
        dataPages.removeAll(keepingCapacity: true)
        hasDictionaryPages = false
        chunkLevelCount = 0
        uncompressedSize = 0
        compressedSize = 0
        statistics = ColumnStatistics()
    }
}
