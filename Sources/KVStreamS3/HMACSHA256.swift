/// A key for HMAC-SHA256 (RFC 2104), with its padded inner and outer blocks hashed once: each code then costs
/// only the message's blocks plus two, instead of four more compressions for the key.
///
/// Make one per key and keep it: pseudonymising a customer id (SPEC section 5) is
/// `key.authenticationCode(for: customerID.utf8).hex`.
public struct HMACSHA256Key: Sendable {
    let inner: SHA256.State
    let outer: SHA256.State

    /// A key of any length; keys longer than a block are hashed first, as RFC 2104 says.
    public init(_ key: some Sequence<UInt8>) {
        var padded = Array(key)
        if padded.count > SHA256.blockSize { padded = SHA256.hash(padded).bytes }
        padded += repeatElement(0, count: SHA256.blockSize - padded.count)
        inner = Self.state(after: padded.map { $0 ^ 0x36 })
        outer = Self.state(after: padded.map { $0 ^ 0x5c })
    }

    /// The HMAC of `message` under this key.
    public func authenticationCode(for message: some Sequence<UInt8>) -> SHA256Digest {
        var hmac = HMACSHA256(key: self)
        hmac.update(message)
        return hmac.finalize()
    }

    private static func state(after block: [UInt8]) -> SHA256.State {
        var state = SHA256.State.initial
        block.withUnsafeBytes { state.compress($0.baseAddress!) }
        return state
    }
}

/// HMAC-SHA256 fed in pieces: ``update(_:)`` any number of times, then ``finalize()``.
public struct HMACSHA256: Sendable {
    private var inner: SHA256
    private let outer: SHA256.State

    /// A code under `key`, of nothing yet.
    public init(key: HMACSHA256Key) {
        inner = SHA256(state: key.inner, length: UInt64(SHA256.blockSize))
        outer = key.outer
    }

    /// Authenticates `bytes` after what was authenticated so far.
    public mutating func update(_ bytes: some Sequence<UInt8>) { inner.update(bytes) }

    /// Authenticates `bytes` after what was authenticated so far.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bytes) }

    /// The code of everything authenticated.
    public consuming func finalize() -> SHA256Digest {
        var sha = SHA256(state: outer, length: UInt64(SHA256.blockSize))
        inner.finalize().withUnsafeBigEndianBytes { sha.update($0) }
        return sha.finalize()
    }
}
