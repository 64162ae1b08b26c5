/// How a Parquet file's pages are compressed.
public enum ParquetCompression: Sendable, Hashable {
    case none
    /// `LZ4_RAW`: LZ4 blocks without framing (liblz4's block API).
    case lz4Raw

    var thriftValue: Int32 {
        switch self {
        case .none: 0
        case .lz4Raw: 7
        }
    }
}

/// The knobs of a ``ParquetWriter``.
public struct ParquetWriterOptions: Sendable, Hashable {
    public var compression: ParquetCompression = .lz4Raw
    /// A row group is written when it holds this many rows...
    public var rowGroupRows = 1_048_576
    /// ...or when the pages it finished hold this many bytes of values, whichever comes first.
    public var rowGroupBytes = 128 << 20
    /// Data pages hold about this many bytes of values (at least one row each). Smaller than the usual 1 MiB:
    /// rows fill every column's page at once, and pages of 256 KiB keep those buffers in the cache (8% faster on
    /// the payments benchmark, files 0.5% smaller or larger).
    public var pageBytes = 256 << 10
    /// String columns are dictionary-encoded while their dictionary stays under this many bytes in a row group,
    /// and fall back to PLAIN for the row group past it (or at once when, on the first page, the dictionary and
    /// its indices would be no smaller than the strings); nil writes them PLAIN.
    public var dictionaryPageBytes: Int? = 1 << 20

    public init() {}
}
