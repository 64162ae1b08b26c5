/// A SHA-256 (or HMAC-SHA256) result: 32 bytes, held inline.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    private let state: SHA256.State

    init(state: SHA256.State) { self.state = state }

    /// The 32 bytes, in order.
    public var bytes: [UInt8] {
        withUnsafeBigEndianBytes { Array($0) }
    }

    /// The 64 lowercase hex digits, as AWS signatures and pseudonymised ids spell a digest.
    public var hex: String {
        withUnsafeBigEndianBytes { bytes in
            String(unsafeUninitializedCapacity: 64) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 &* i] = hexDigits[Int(byte >> 4)]
                    out[2 &* i &+ 1] = hexDigits[Int(byte & 0xf)]
                }
                return 64
            }
        }
    }

    public var description: String { hex }

    /// Calls `body` with the 32 bytes, without allocating.
    public func withUnsafeBigEndianBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (
            state.h0.bigEndian, state.h1.bigEndian, state.h2.bigEndian, state.h3.bigEndian,
            state.h4.bigEndian, state.h5.bigEndian, state.h6.bigEndian, state.h7.bigEndian
        )
        return try withUnsafeBytes(of: &words, body)
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
