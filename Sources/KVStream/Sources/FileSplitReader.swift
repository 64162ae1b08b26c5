import Foundation

/// Reads a JSON-lines (or any line-oriented) file, decoding each line with the source's format.
///
/// Bounded, it reads up to the size the file had when the job started; unbounded, it keeps following the file
/// as it grows (`tail -f`), handing out only complete lines.
final class FileSplitReader<Element: Sendable>: SplitReader {
    let splitID: String
    private let path: String
    private let sourceName: String
    private let source: EventSource<Element>
    private let fd: Int32
    private let endOffset: Int64?
    private var buffer = LineBuffer()
    private var fileOffset: Int64 = 0
    private var lineNumber = 0

    init(path: String, sourceName: String, source: EventSource<Element>, bounded: Bool) throws {
        self.path = path
        self.sourceName = sourceName
        self.source = source
        // The id names the file however the path was spelled, so a restart with `./e.jsonl` for `e.jsonl`
        // still finds the split's position.
        splitID = "file:" + URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConnectorError("source '\(sourceName)': cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if bounded {
            var st = stat()
            fstat(fd, &st)
            endOffset = Int64(st.st_size)
        } else {
            endOffset = nil
        }
    }

    var position: SplitPosition {
        SplitPosition(offset: fileOffset - Int64(buffer.pendingBytes), records: Int64(lineNumber))
    }

    func seek(to position: SplitPosition) throws {
        if let endOffset, position.offset > endOffset {
            throw ConnectorError("source '\(sourceName)': \(path) is shorter than when it was checkpointed")
        }
        buffer.reset()
        fileOffset = position.offset
        lineNumber = Int(position.records)
    }

    func poll(into batch: inout RecordBatch<Element>, rejects: inout [RejectedRecord], max: Int) throws -> PollStatus {
        var produced = 0
        while produced < max {
            if let line = buffer.nextLine() {
                decode(line, into: &batch, rejects: &rejects)
                produced += 1
                continue
            }
            if try !fill() { break }
        }
        if produced > 0 { return .more }
        if let endOffset, fileOffset >= endOffset {
            // The last line may lack its newline: it is a record all the same.
            guard !buffer.isEmpty else { return .ended }
            decode(buffer.takeRest(), into: &batch, rejects: &rejects)
            return .more
        }
        return .waiting
    }

    /// Reads more of the file; false when nothing more can be read now.
    private func fill() throws -> Bool {
        var want = 1 << 20
        if let endOffset { want = Int(min(Int64(want), endOffset - fileOffset)) }
        guard want > 0 else { return false }
        let n = buffer.fill(from: fd, offset: fileOffset, maxBytes: want)
        if n < 0 {
            throw ConnectorError("source '\(sourceName)': cannot read \(path): \(String(cString: strerror(errno)))")
        }
        fileOffset += Int64(n)
        return n > 0
    }

    private func decode(_ line: UnsafeRawBufferPointer, into batch: inout RecordBatch<Element>,
                        rejects: inout [RejectedRecord]) {
        lineNumber += 1
        guard let rejection = source.appendDecoded(line, &batch) else { return }
        rejects.append(
            RejectedRecord(
                raw: String(decoding: line, as: UTF8.self), reason: rejection.reason, source: sourceName,
                position: "\(path):\(lineNumber)", receivedAt: Clock.nowMillis()))
    }

    func close() { Foundation.close(fd) }
}

/// Wall-clock time in epoch milliseconds.
public enum Clock {
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic time in nanoseconds, for rates and timeouts.
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
