import Foundation
import KVStream

/// Where a ``ParquetWriter`` sends the bytes of its file, in order.
public protocol ParquetOutput {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Collects a Parquet file in memory.
public struct ParquetBuffer: ParquetOutput, Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// Writes a Parquet file to an open file descriptor, which stays open (the caller syncs and closes it).
public struct ParquetFileDescriptorOutput: ParquetOutput, Sendable {
    public let fileDescriptor: Int32

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw ConnectorError("cannot write a Parquet file: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}
