/// Turns page bodies into pages: compressed, behind their Thrift headers.
struct PageWriter {
    let compression: ParquetCompression
    private var compressed: [UInt8] = []
    private var header = ThriftCompactWriter()

    init(compression: ParquetCompression) {
        self.compression = compression
    }

    /// The page holding `body`, header included, in an array of its own size (a column chunk keeps its pages
    /// until the row group is written: separate arrays are never copied to grow), and its size before compression.
    mutating func page(_ page: ParquetPageHeader, body: UnsafeRawBufferPointer) -> (bytes: [UInt8], uncompressed: Int) {
        precondition(body.count <= Int(Int32.max), "a page of \(body.count) bytes")
        let storedSize = switch compression {
        case .none: body.count
        case .lz4Raw: LZ4Block.compress(body, into: &compressed)
        }
        header.reset()
        page.encode(to: &header, uncompressedSize: Int32(body.count), compressedSize: Int32(storedSize))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(header.bytes.count + storedSize)
        bytes.append(contentsOf: header.bytes)
        switch compression {
        case .none: bytes.append(contentsOf: body)
        case .lz4Raw: bytes.append(contentsOf: compressed[0..<storedSize])
        }
        return (bytes, header.bytes.count + body.count)
    }
}
