import Foundation

/// The on-disk form of a ``TaskSnapshot``: a magic, the entries, and a CRC-32 of everything before it.
enum SnapshotFile {
    static let magic: [UInt8] = Array("KVSNAP01".utf8)

    static func encode(_ snapshot: TaskSnapshot) -> [UInt8] {
        var w = BinaryWriter(capacity: 4096)
        magic.withUnsafeBytes { w.write(raw: $0) }
        w.writeVarint(UInt64(snapshot.keyed.count))
        for e in snapshot.keyed {
            e.name.encode(to: &w)
            w.writeVarint(UInt64(e.keyGroup))
            writeBytes(e.key, to: &w)
            writeBytes(e.namespace, to: &w)
            writeBytes(e.value, to: &w)
        }
        w.writeVarint(UInt64(snapshot.operatorState.count))
        for e in snapshot.operatorState {
            e.name.encode(to: &w)
            writeBytes(e.value, to: &w)
        }
        w.writeVarint(UInt64(snapshot.commits.count))
        for c in snapshot.commits {
            switch c {
            case .rename(let from, let to):
                w.write(1)
                from.encode(to: &w)
                to.encode(to: &w)
            case .external(let handler, let fields):
                w.write(2)
                handler.encode(to: &w)
                w.writeVarint(UInt64(fields.count))
                for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                    key.encode(to: &w)
                    value.encode(to: &w)
                }
            }
        }
        snapshot.storeCheckpoint.encode(to: &w)
        var bytes = w.bytes
        let crc = CRC32.checksum(bytes)
        withUnsafeBytes(of: crc.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func decode(_ bytes: [UInt8], origin: String) throws(BinaryDecodingError) -> TaskSnapshot {
        guard bytes.count >= magic.count + 4, Array(bytes.prefix(magic.count)) == magic else {
            throw BinaryDecodingError("\(origin): not a snapshot file")
        }
        let body = bytes.dropLast(4)
        let stored = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard CRC32.checksum(body) == stored else { throw BinaryDecodingError("\(origin): checksum mismatch") }
        var r = BinaryReader(Array(body))
        for _ in magic { _ = try r.readByte() }
        var snapshot = TaskSnapshot()
        for _ in 0..<(try r.readVarint()) {
            let name = try String(from: &r)
            let group = Int(try r.readVarint())
            snapshot.keyed.append(TaskSnapshot.KeyedEntry(
                name: name, keyGroup: group, key: try readBytes(&r), namespace: try readBytes(&r),
                value: try readBytes(&r)))
        }
        for _ in 0..<(try r.readVarint()) {
            snapshot.operatorState.append(TaskSnapshot.OperatorEntry(name: try String(from: &r), value: try readBytes(&r)))
        }
        for _ in 0..<(try r.readVarint()) {
            switch try r.readByte() {
            case 1: snapshot.commits.append(.rename(from: try String(from: &r), to: try String(from: &r)))
            case 2:
                let handler = try String(from: &r)
                var fields: [String: String] = [:]
                for _ in 0..<(try r.readVarint()) { fields[try String(from: &r)] = try String(from: &r) }
                snapshot.commits.append(.external(handler: handler, fields: fields))
            case let kind: throw BinaryDecodingError("\(origin): unknown commit kind \(kind)")
            }
        }
        snapshot.storeCheckpoint = try String?(from: &r)
        return snapshot
    }

    private static func writeBytes(_ bytes: [UInt8], to w: inout BinaryWriter) {
        w.writeVarint(UInt64(bytes.count))
        bytes.withUnsafeBytes { w.write(raw: $0) }
    }

    private static func readBytes(_ r: inout BinaryReader) throws(BinaryDecodingError) -> [UInt8] {
        try r.readBytes(Int(try r.readVarint()))
    }
}
