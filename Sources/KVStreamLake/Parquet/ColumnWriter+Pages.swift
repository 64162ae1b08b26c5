extension ColumnWriter {
    /// Encodes the page being filled (levels, then values), compresses it into ``dataPages`` and empties it.
    /// `scratch` holds the page body.
    mutating func finishPage(scratch: inout [UInt8], pages: inout PageWriter) {
        guard levelCount > 0 else { return }
        let valueCount = leaf.maxDefinitionLevel == 0 ? levelCount : definedCount()
        let dictionaryEncoded = isDictionaryEncoded && valueCount > 0 && lookUpPageStrings(count: valueCount)
        let header = ParquetPageHeader.data(
            valueCount: Int32(levelCount), encoding: dictionaryEncoded ? .rleDictionary : .plain)
        let page: (bytes: [UInt8], uncompressed: Int)
        if leaf.kind.isString && leaf.maxDefinitionLevel == 0 && !dictionaryEncoded {
            // Required PLAIN strings: the body is the buffer itself, no copy.
            page = plain.withUnsafeBytes { pages.page(header, body: $0) }
        } else {
            scratch.removeAll(keepingCapacity: true)
            if leaf.maxRepetitionLevel > 0 {
                appendLevels(repetitionLevels, max: leaf.maxRepetitionLevel, to: &scratch)
            }
            if leaf.maxDefinitionLevel > 0 {
                appendLevels(definitionLevels, max: leaf.maxDefinitionLevel, to: &scratch)
            }
            appendValues(dictionaryEncoded: dictionaryEncoded, to: &scratch)
            page = scratch.withUnsafeBytes { pages.page(header, body: $0) }
        }
        dataPages.append(page.bytes)
        uncompressedSize += page.uncompressed
        compressedSize += page.bytes.count
        chunkLevelCount += levelCount
        statistics.nullCount += levelCount - valueCount
        addPageStatistics(dictionaryEncoded: dictionaryEncoded)
        if dictionaryEncoded { hasDictionaryPages = true }
        clearPage()
    }

    /// Writes the chunk (its dictionary page if any data page uses it, then its data pages) to `output` at
    /// `fileOffset`, returns its metadata and starts the next chunk.
    mutating func finishChunk<Output: ParquetOutput>(
        at fileOffset: Int64, to output: inout Output, scratch: inout [UInt8], pages: inout PageWriter
    ) throws -> ParquetColumnChunk {
        finishPage(scratch: &scratch, pages: &pages)
        var dictionaryPageOffset: Int64?
        var dataPageOffset = fileOffset
        var uncompressed = uncompressedSize
        var compressed = compressedSize
        if hasDictionaryPages {
            let page = dictionary.plain.withUnsafeBytes { body in
                pages.page(.dictionary(valueCount: Int32(dictionary.count)), body: body)
            }
            try page.bytes.withUnsafeBytes { try output.write($0) }
            dictionaryPageOffset = fileOffset
            dataPageOffset += Int64(page.bytes.count)
            uncompressed += page.uncompressed
            compressed += page.bytes.count
            dictionary.plain.withUnsafeBytes { statistics.addStrings(plain: $0) }
        }
        for page in dataPages { try page.withUnsafeBytes { try output.write($0) } }
        var encodings: [ParquetEncoding] = hasDictionaryPages ? [.plain, .rleDictionary] : [.plain]
        if leaf.maxDefinitionLevel > 0 { encodings.append(.rle) }
        let chunk = ParquetColumnChunk(
            type: leaf.physicalType, encodings: encodings, path: leaf.path, codec: pages.compression,
            valueCount: Int64(chunkLevelCount), uncompressedSize: Int64(uncompressed),
            compressedSize: Int64(compressed),
            dataPageOffset: dataPageOffset, dictionaryPageOffset: dictionaryPageOffset,
            statistics: statistics.encoded(for: leaf.kind))
        clearChunk()
        return chunk
    }

    /// Level entries of the page that hold a value.
    private func definedCount() -> Int {
        let defined = leaf.maxDefinitionLevel
        return definitionLevels.withUnsafeBufferPointer { levels in
            var count = 0
            for level in levels where level == defined { count += 1 }
            return count
        }
    }

    /// Levels in the hybrid encoding behind their 4-byte length, as v1 data pages hold them.
    private func appendLevels(_ levels: [UInt8], max: UInt8, to page: inout [UInt8]) {
        let start = page.count
        page.appendLittleEndian(UInt32(0))
        levels.withUnsafeBufferPointer { levels in
            RLEHybridEncoder.encode(levels, bitWidth: RLEHybridEncoder.bitWidth(maxValue: Int(max)), to: &page)
        }
        let length = UInt32(page.count - start - 4)
        for k in 0..<4 { page[start + k] = UInt8(truncatingIfNeeded: length >> (8 * k)) }
    }

    /// The page's values, PLAIN-encoded or as dictionary indices (their bit width, then the hybrid encoding).
    private func appendValues(dictionaryEncoded: Bool, to page: inout [UInt8]) {
        switch leaf.kind {
        case .string, .json, .stringArray:
            guard dictionaryEncoded else {
                plain.withUnsafeBytes { page.append(contentsOf: $0) }
                return
            }
            let bitWidth = RLEHybridEncoder.bitWidth(maxValue: dictionary.count - 1)
            page.append(UInt8(bitWidth))
            indices.withUnsafeBufferPointer { RLEHybridEncoder.encode($0, bitWidth: bitWidth, to: &page) }
        case .int64, .timestamp, .decimal64: appendFixedWidth(int64s, to: &page)
        case .double: appendFixedWidth(doubles, to: &page)
        case .date: appendFixedWidth(int32s, to: &page)
        case .bool:
            var bits: UInt8 = 0
            for (i, value) in bools.enumerated() {
                if value { bits |= 1 << (i & 7) }
                if i & 7 == 7 {
                    page.append(bits)
                    bits = 0
                }
            }
            if bools.count & 7 != 0 { page.append(bits) }
        case .decimal128:
            // FIXED_LEN_BYTE_ARRAY(16): big-endian two's complement.
            for value in decimals { withUnsafeBytes(of: value.bigEndian) { page.append(contentsOf: $0) } }
        }
    }

    /// PLAIN for numbers is their little-endian bytes, which is how they lie in memory (see `ParquetWriter`).
    private func appendFixedWidth<T>(_ values: [T], to page: inout [UInt8]) {
        values.withUnsafeBytes { page.append(contentsOf: $0) }
    }

    /// Merges the page's values into the chunk's min and max (dictionary-encoded strings are counted once, from
    /// the dictionary, when the chunk ends).
    private mutating func addPageStatistics(dictionaryEncoded: Bool) {
        switch leaf.kind {
        case .int64, .timestamp, .decimal64: ColumnStatistics.merge(int64s, into: &statistics.int64s)
        case .date: ColumnStatistics.merge(int32s, into: &statistics.int32s)
        case .decimal128: ColumnStatistics.merge(decimals, into: &statistics.decimals)
        case .double: ColumnStatistics.merge(doubles.lazy.filter { !$0.isNaN }, into: &statistics.doubles)
        case .bool: statistics.addBools(bools)
        case .string, .json, .stringArray:
            if !dictionaryEncoded { plain.withUnsafeBytes { statistics.addStrings(plain: $0) } }
        }
    }
}
