/// A Parquet file's footer, read back: what ``ParquetFileMerger`` needs to copy its row groups into another file.
struct ParquetFooter {
    let bytes: [UInt8]
    /// `FileMetaData`: 1 version, 2 schema, 3 num_rows, 4 row_groups, 5 key_value_metadata, 6 created_by...
    let metadata: ThriftStruct
    /// Where the footer starts: the row groups are in `4..<footerStart`.
    let footerStart: Int

    init(_ bytes: [UInt8]) throws(ParquetFileMerger.Failure) {
        let magic = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes.prefix(4)) == magic, Array(bytes.suffix(4)) == magic else {
            throw .init("not a Parquet file (no PAR1 at its ends)")
        }
        let length = bytes[(bytes.count - 8)..<(bytes.count - 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= bytes.count - 12 else { throw .init("footer length \(length) out of range") }
        footerStart = bytes.count - 8 - length
        var reader = ThriftCompactReader(bytes, at: footerStart)
        do {
            metadata = try reader.readStruct()
        } catch {
            throw .init("footer: \(error)")
        }
        self.bytes = bytes
    }

    var rowGroups: [ThriftStruct] { metadata[4]?.elements?.compactMap(\.structValue) ?? [] }
    var rowCount: Int64 { metadata[3]?.int64 ?? 0 }

    /// The footer's key-value metadata.
    var keyValues: [(key: String, value: String)] {
        (metadata[5]?.elements ?? []).compactMap { element in
            guard let s = element.structValue, case .binary(let key) = s[1] else { return nil }
            var value = ""
            if case .binary(let v) = s[2] { value = String(decoding: v, as: UTF8.self) }
            return (String(decoding: key, as: UTF8.self), value)
        }
    }
}

/// Writes a Parquet file made of row groups of other files with the same schema, copying their column chunks byte for
/// byte and writing a new footer with the offsets moved: what `parquet-tools merge` does. Pages, dictionaries (one
/// per column chunk), compression and statistics stay valid as they are, so a merge costs a copy, not a decode.
///
/// - Important: Only files whose column chunks lie inside their row groups' data and that have no page indexes or
///   bloom filters (``ParquetWriter``'s files) can be merged; others are refused, never copied wrong.
enum ParquetFileMerger {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// One source: a file and the row groups of it to copy, in order.
    struct Part {
        let file: ParquetFooter
        let rowGroups: Range<Int>

        init(_ file: ParquetFooter, rowGroups: Range<Int>? = nil) {
            self.file = file
            self.rowGroups = rowGroups ?? 0..<file.rowGroups.count
        }
    }

    /// The merged file: every part's row groups in order, under the first part's schema, with `keyValues` as the
    /// footer's key-value metadata.
    static func merge(_ parts: [Part], keyValues: [(key: String, value: String)] = []) throws(Failure) -> [UInt8] {
        guard let first = parts.first else { throw Failure("nothing to merge") }
        var out = Array("PAR1".utf8)
        var rowGroups: [ThriftValue] = []
        var rows: Int64 = 0
        for part in parts {
            guard part.file.metadata[2] == first.file.metadata[2] else {
                throw Failure("the files have different schemas")
            }
            let groups = part.file.rowGroups
            guard part.rowGroups.upperBound <= groups.count else { throw Failure("row group out of range") }
            for var group in groups[part.rowGroups] {
                let (start, end) = try byteRange(of: group, within: 4..<part.file.footerStart)
                let delta = Int64(out.count - start)
                out.append(contentsOf: part.file.bytes[start..<end])
                group = moved(group, by: delta)
                group[7] = .i16(Int16(truncatingIfNeeded: rowGroups.count))  // ordinal
                rows += group[3]?.int64 ?? 0
                rowGroups.append(.struct(group))
            }
        }
        var metadata = first.file.metadata
        metadata[3] = .i64(rows)
        metadata[4] = .list(elementType: 12, rowGroups)
        metadata[5] = keyValues.isEmpty ? nil : .list(elementType: 12, keyValues.map { key, value in
            .struct(ThriftStruct(fields: [(1, .binary(Array(key.utf8))), (2, .binary(Array(value.utf8)))]))
        })
        var footer: [UInt8] = []
        metadata.encode(to: &footer)
        out.append(contentsOf: footer)
        out.appendLittleEndian(UInt32(footer.count))
        out.append(contentsOf: "PAR1".utf8)
        return out
    }

    /// The bytes a row group's column chunks occupy, checked to lie within `data`.
    private static func byteRange(of group: ThriftStruct, within data: Range<Int>) throws(Failure) -> (Int, Int) {
        var start = Int.max
        var end = Int.min
        for chunkValue in group[1]?.elements ?? [] {
            guard let chunk = chunkValue.structValue, let meta = chunk[3]?.structValue else {
                throw Failure("a column chunk without its metadata")
            }
            guard chunk[1] == nil, chunk[4] == nil, chunk[6] == nil, meta[14] == nil else {
                throw Failure("a column chunk in another file, or with page indexes or a bloom filter")
            }
            guard let size = meta[7]?.int64, let first = (meta[11] ?? meta[9])?.int64 else {
                throw Failure("a column chunk without its size or offset")
            }
            start = min(start, Int(first))
            end = max(end, Int(first + size))
        }
        guard start < end, data.contains(start), end <= data.upperBound else {
            throw Failure("a row group's chunks (\(start)..<\(end)) outside the file's data")
        }
        return (start, end)
    }

    /// The row group with every file offset moved by `delta`.
    private static func moved(_ group: ThriftStruct, by delta: Int64) -> ThriftStruct {
        var group = group
        group.shift(5, by: delta)  // file_offset
        if case .list(let type, let chunks) = group[1] {
            group[1] = .list(elementType: type, chunks.map { value in
                guard var chunk = value.structValue else { return value }
                chunk.shift(2, by: delta)  // file_offset
                if var meta = chunk[3]?.structValue {
                    for id: Int16 in [9, 10, 11] { meta.shift(id, by: delta) }  // data, index, dictionary page offsets
                    chunk[3] = .struct(meta)
                }
                return .struct(chunk)
            })
        }
        return group
    }
}
