/// Where a split's reader is, as a checkpoint records it: enough to resume exactly after the last record read.
struct SplitPosition: Sendable, Equatable, BinaryCodable {
    /// Bytes consumed (file), or unused.
    var offset: Int64
    /// Records (lines, generated events) consumed.
    var records: Int64

    init(offset: Int64, records: Int64) {
        self.offset = offset
        self.records = records
    }

    func encode(to writer: inout BinaryWriter) {
        offset.encode(to: &writer)
        records.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        offset = try Int64(from: &reader)
        records = try Int64(from: &reader)
    }
}

/// One split's state in a checkpoint: its position and the largest timestamp its watermark came from.
struct SplitSnapshot: Sendable, BinaryCodable {
    var splitID: String
    var position: SplitPosition
    var maxTimestamp: Int64
    var ended: Bool

    init(splitID: String, position: SplitPosition, maxTimestamp: Int64, ended: Bool) {
        self.splitID = splitID
        self.position = position
        self.maxTimestamp = maxTimestamp
        self.ended = ended
    }

    func encode(to writer: inout BinaryWriter) {
        splitID.encode(to: &writer)
        position.encode(to: &writer)
        maxTimestamp.encode(to: &writer)
        ended.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        splitID = try String(from: &reader)
        position = try SplitPosition(from: &reader)
        maxTimestamp = try Int64(from: &reader)
        ended = try Bool(from: &reader)
    }
}
