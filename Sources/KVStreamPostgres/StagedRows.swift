import KVStream

/// A chunk of rows in COPY text format, as the writer stages it in one row of the staging table.
struct StagedChunk: Equatable {
    var data: [UInt8]
    var rows: Int
    /// Whether its keys may already be in the table (the writer flushed rows of them before): such a chunk is
    /// merged with `INSERT ... ON CONFLICT`, the others are copied straight into the table.
    var merge: Bool
}

/// One writer's rows since it last flushed, encoded as COPY text, with only the last row of each primary key kept
/// (in the position of its last emission).
///
/// Rows whose key the writer has flushed before (since it started, as far as ``seenCapacity`` reaches) are marked
/// for merging; the others can be COPYed into the table as they are, since within one checkpoint only the first
/// chunk that holds a key sees it unflushed. A hash collision in the set of flushed keys only sends a row to the
/// merge; the set forgets keys only at barriers (``endCheckpoint()``), so within a checkpoint the chunk that is
/// copied always comes before the chunks that merge the same key.
///
/// - Important: keys are compared by their encoded text, which is exact for the column types of the jobs' keys
///   (timestamps in milliseconds, decimals in canonical digits, strings byte for byte). Two rows that PostgreSQL
///   takes for the same key but whose text differs (`-0` and `0` as doubles) end up as a unique violation at
///   commit, which falls back to the merge: never a wrong row.
struct StagedRows {
    private struct Row {
        /// Where the row ends in `encoder.buffer`, and its key in `keys`.
        var end: Int
        var keyEnd: Int
        var hash: UInt64
        var alive: Bool
        var merge: Bool
    }

    private(set) var encoder = CopyRowEncoder()
    private var rows: [Row] = []
    private var keys: [UInt8] = []
    private var replaced = 0
    private var merges = 0
    /// Open addressing by key hash: the hash's high 32 bits, then the row's index + 1 (0: empty), so that a probe
    /// reads a row only when its hash may match.
    private var slots: [UInt64] = []
    /// Hashes of flushed keys: the ones since the last forgetting, and the ones before.
    private var seen = HashSet()
    private var seenBefore = HashSet()
    /// The positions of the primary key's columns; empty: no key, every row is kept and copied.
    let keyColumns: [Int]
    /// How many flushed keys the writer remembers, at least, before it forgets the older half.
    let seenCapacity: Int

    init(schema: TableSchema, seenCapacity: Int = 1 << 20) {
        keyColumns = schema.primaryKey.compactMap { name in schema.columns.firstIndex { $0.name == name } }
        self.seenCapacity = seenCapacity
    }

    var byteCount: Int { encoder.buffer.count }
    var isEmpty: Bool { encoder.buffer.isEmpty }

    mutating func append<R: SinkRow>(_ value: R) {
        encoder.beginRow()
        value.encode(to: &encoder)
        encoder.endRow()
        let end = encoder.buffer.count
        guard !keyColumns.isEmpty else {
            rows.append(Row(end: end, keyEnd: 0, hash: 0, alive: true, merge: false))
            return
        }
        let keyStart = keys.count
        encoder.appendKey(columns: keyColumns, to: &keys)
        let hash = keys.withUnsafeBytes { StagedRows.hash(UnsafeRawBufferPointer(rebasing: $0[keyStart...])) }
        let index = rows.count
        if (index + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        var merge = false
        while true {
            let entry = slots[slot]
            if entry == 0 {
                merge = seen.contains(hash) || seenBefore.contains(hash)
                break
            }
            let occupant = Int(entry & 0xFFFF_FFFF) - 1
            if entry >> 32 == hash >> 32 && rows[occupant].hash == hash && sameKey(occupant, keyStart..<keys.count) {
                rows[occupant].alive = false
                replaced += 1
                merge = rows[occupant].merge
                if merge { merges -= 1 }
                break
            }
            slot = (slot + 1) & mask
        }
        if merge { merges += 1 }
        slots[slot] = StagedRows.slot(hash, index)
        rows.append(Row(end: end, keyEnd: keys.count, hash: hash, alive: true, merge: merge))
    }

    private func sameKey(_ row: Int, _ key: Range<Int>) -> Bool {
        keys[(row == 0 ? 0 : rows[row - 1].keyEnd)..<rows[row].keyEnd].elementsEqual(keys[key])
    }

    /// A 64-bit hash of a key's bytes (multiply-xorshift over 8-byte words); never 0, the empty mark of ``HashSet``.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        while i < bytes.count {
            tail = tail << 8 | UInt64(bytes[i])
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h == 0 ? 1 : h
    }

    private static func slot(_ hash: UInt64, _ index: Int) -> UInt64 { (hash >> 32) << 32 | UInt64(index + 1) }

    private mutating func grow() {
        slots = Array(repeating: 0, count: max(1024, slots.count * 2))
        let mask = slots.count - 1
        for (index, row) in rows.enumerated() where row.alive {
            var slot = Int(truncatingIfNeeded: row.hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = StagedRows.slot(row.hash, index)
        }
    }

    /// Hands out the rows held (the chunk to copy first, then the one to merge; either may be absent) and
    /// remembers their keys as flushed.
    mutating func takeChunks() -> [StagedChunk] {
        defer { reset() }
        guard !rows.isEmpty else { return [] }
        guard !keyColumns.isEmpty else { return [StagedChunk(data: encoder.buffer, rows: rows.count, merge: false)] }
        for row in rows where row.alive { seen.insert(row.hash) }
        if replaced == 0 && merges == 0 {
            return [StagedChunk(data: encoder.buffer, rows: rows.count, merge: false)]
        }
        var copy = StagedChunk(data: [], rows: 0, merge: false)
        var merge = StagedChunk(data: [], rows: 0, merge: true)
        var start = 0
        for row in rows {
            defer { start = row.end }
            guard row.alive else { continue }
            if row.merge {
                merge.data.append(contentsOf: encoder.buffer[start..<row.end])
                merge.rows += 1
            } else {
                copy.data.append(contentsOf: encoder.buffer[start..<row.end])
                copy.rows += 1
            }
        }
        return [copy, merge].filter { $0.rows > 0 }
    }

    /// At a barrier: past half of ``seenCapacity`` keys flushed since it last forgot, the writer forgets the ones
    /// before (their rows are then copied as new: a unique violation at commit sends them to the merge).
    mutating func endCheckpoint() {
        if seen.count >= seenCapacity / 2 {
            seenBefore = seen
            seen = HashSet()
        }
    }

    private mutating func reset() {
        let capacity = encoder.buffer.capacity
        encoder.buffer = []
        encoder.buffer.reserveCapacity(capacity)
        rows.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        replaced = 0
        merges = 0
        if !slots.isEmpty { slots = Array(repeating: 0, count: slots.count) }
    }
}

/// A set of non-zero 64-bit hashes, open addressing.
struct HashSet {
    private var slots: [UInt64] = []
    private(set) var count = 0

    func contains(_ hash: UInt64) -> Bool {
        guard !slots.isEmpty else { return false }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let value = slots[slot]
            if value == hash { return true }
            if value == 0 { return false }
            slot = (slot + 1) & mask
        }
    }

    mutating func insert(_ hash: UInt64) {
        if (count + 1) * 2 > slots.count {
            let old = slots
            slots = Array(repeating: 0, count: max(1024, slots.count * 2))
            count = 0
            for value in old where value != 0 { insert(value) }
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            if slots[slot] == hash { return }
            slot = (slot + 1) & mask
        }
        slots[slot] = hash
        count += 1
    }
}
