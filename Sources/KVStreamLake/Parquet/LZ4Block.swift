import CLZ4

/// LZ4 block compression (Parquet's `LZ4_RAW`: the block format, no frame) through liblz4.
enum LZ4Block {
    /// Compresses `source` into `scratch` (grown as needed, never shrunk) and returns the compressed size.
    static func compress(_ source: UnsafeRawBufferPointer, into scratch: inout [UInt8]) -> Int {
        precondition(source.count <= Int(LZ4_MAX_INPUT_SIZE), "an LZ4 block holds at most \(LZ4_MAX_INPUT_SIZE) bytes")
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let size = scratch.withUnsafeMutableBytes { destination in
            LZ4_compress_default(
                source.baseAddress?.assumingMemoryBound(to: CChar.self),
                destination.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(source.count),
                Int32(destination.count))
        }
        // With a destination of compressBound bytes, LZ4 cannot fail.
        precondition(size > 0, "LZ4_compress_default failed")
        return Int(size)
    }
}
