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
    /// ...or when its buffered values reach about this many bytes, whichever comes first.
    public var rowGroupBytes = 128 << 20
    /// Data pages hold about this many bytes of values (at least one row each).
    public var pageBytes = 1 << 20
    /// String columns are dictionary-encoded while their dictionary stays under this many bytes in a row group,
    /// and fall back to PLAIN for the row group past it; nil writes them PLAIN.
    public var dictionaryPageBytes: Int? = 1 << 20

    public init() {}
}
