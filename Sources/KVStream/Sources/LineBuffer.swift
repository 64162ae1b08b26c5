import Foundation

/// A growable byte buffer this reader owns, so that lines can be handed out as pointers into it without
/// copying, valid until the next ``fill(from:offset:maxBytes:)``.
struct LineBuffer: ~Copyable {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var isEmpty: Bool { start == end }

    /// Bytes read from the file but not yet handed out as lines.
    var pendingBytes: Int { end - start }

    /// Forgets everything buffered (before reading from another offset).
    mutating func reset() {
        start = 0
        end = 0
    }

    /// The next complete line, without its newline; nil when the buffer holds no newline.
    mutating func nextLine() -> UnsafeRawBufferPointer? {
        guard start < end, let newline = memchr(storage + start, 0x0a, end - start) else { return nil }
        let length = UnsafeRawPointer(newline) - UnsafeRawPointer(storage + start)
        defer { start += length + 1 }
        return UnsafeRawBufferPointer(start: storage + start, count: length)
    }

    /// Whatever is left (a last line without a newline); empties the buffer.
    mutating func takeRest() -> UnsafeRawBufferPointer {
        defer { start = end }
        return UnsafeRawBufferPointer(start: storage + start, count: end - start)
    }

    /// Reads up to `maxBytes` from `fd` at `offset` after the bytes kept; returns the count read (0 at EOF).
    mutating func fill(from fd: Int32, offset: Int64, maxBytes: Int) -> Int {
        if start > 0 {
            memmove(storage, storage + start, end - start)
            end -= start
            start = 0
        }
        if capacity - end < maxBytes {
            // A line longer than the buffer: grow so that it fits.
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: max(capacity * 2, end + maxBytes), alignment: 16)
            bigger.copyMemory(from: storage, byteCount: end)
            storage.deallocate()
            storage = bigger
            capacity = max(capacity * 2, end + maxBytes)
        }
        let n = pread(fd, storage + end, maxBytes, off_t(offset))
        if n > 0 { end += n }
        return n
    }
}
