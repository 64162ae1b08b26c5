/// SHA-256 (FIPS 180-4), fed in pieces: ``update(_:)`` any number of times, then ``finalize()``.
///
/// Allocation-free: the state and the partial block live in the struct, so hashing a short string (an HMAC of a
/// customer id) costs two compressions and no heap traffic.
///
/// ```swift
/// var sha = SHA256()
/// sha.update("abc".utf8)
/// sha.finalize().hex  // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// ```
public struct SHA256: Sendable {
    /// The block size in bytes (HMAC pads its key to it).
    public static let blockSize = 64

    private var state: State
    /// Bytes of a block not compressed yet; only the first `pending` count.
    private var block: Block = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pending = 0
    /// Bytes hashed so far, for the final padding.
    private var length: UInt64

    /// A hash of nothing yet.
    public init() {
        self.init(state: .initial, length: 0)
    }

    /// Resumes from the state after `length` bytes (a multiple of the block size): HMAC's padded keys.
    init(state: State, length: UInt64) {
        self.state = state
        self.length = length
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> SHA256Digest {
        var sha = SHA256()
        sha.update(bytes)
        return sha.finalize()
    }

    /// Hashes `bytes` after what was hashed so far.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// Hashes `bytes` after what was hashed so far.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var next = bytes.baseAddress else { return }
        var left = bytes.count
        length &+= UInt64(left)
        if pending > 0 {
            let n = min(Self.blockSize - pending, left)
            withUnsafeMutableBytes(of: &block) { ($0.baseAddress! + pending).copyMemory(from: next, byteCount: n) }
            pending += n
            next += n
            left -= n
            guard pending == Self.blockSize else { return }
            withUnsafeBytes(of: &block) { state.compress($0.baseAddress!) }
            pending = 0
        }
        while left >= Self.blockSize {
            state.compress(next)
            next += Self.blockSize
            left -= Self.blockSize
        }
        if left > 0 {
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: next, byteCount: left) }
            pending = left
        }
    }

    /// The digest of everything hashed; pads the message, so the hash cannot go on.
    public consuming func finalize() -> SHA256Digest {
        let bits = length &* 8
        var state = state, block = block
        withUnsafeMutableBytes(of: &block) { block in
            let base = block.baseAddress!
            block[pending] = 0x80
            var used = pending + 1
            if used > Self.blockSize - 8 {
                (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: Self.blockSize - used)
                state.compress(base)
                used = 0
            }
            (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: Self.blockSize - 8 - used)
            block.storeBytes(of: bits.bigEndian, toByteOffset: Self.blockSize - 8, as: UInt64.self)
            state.compress(base)
        }
        return SHA256Digest(state: state)
    }
}

extension SHA256 {
    /// 64 bytes, kept inline so that a hash in progress never allocates.
    typealias Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The eight working words between blocks.
    struct State: Hashable, Sendable {
        var h0, h1, h2, h3, h4, h5, h6, h7: UInt32

        static let initial = State(
            h0: 0x6a09_e667, h1: 0xbb67_ae85, h2: 0x3c6e_f372, h3: 0xa54f_f53a,
            h4: 0x510e_527f, h5: 0x9b05_688c, h6: 0x1f83_d9ab, h7: 0x5be0_cd19)

        /// Folds one 64-byte block into the state.
        mutating func compress(_ block: UnsafeRawPointer) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                for i in 0..<16 {
                    w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
                }
                for i in 16..<64 {
                    let a = w[i &- 15], b = w[i &- 2]
                    let s0 = a.rotatedRight(7) ^ a.rotatedRight(18) ^ (a >> 3)
                    let s1 = b.rotatedRight(17) ^ b.rotatedRight(19) ^ (b >> 10)
                    w[i] = w[i &- 16] &+ s0 &+ w[i &- 7] &+ s1
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                roundConstants.withUnsafeBufferPointer { k in
                    // Eight rounds a turn, with the letters' roles rotated instead of the values moved.
                    for i in stride(from: 0, to: 64, by: 8) {
                        round(a, b, c, &d, e, f, g, &h, k[i] &+ w[i])
                        round(h, a, b, &c, d, e, f, &g, k[i &+ 1] &+ w[i &+ 1])
                        round(g, h, a, &b, c, d, e, &f, k[i &+ 2] &+ w[i &+ 2])
                        round(f, g, h, &a, b, c, d, &e, k[i &+ 3] &+ w[i &+ 3])
                        round(e, f, g, &h, a, b, c, &d, k[i &+ 4] &+ w[i &+ 4])
                        round(d, e, f, &g, h, a, b, &c, k[i &+ 5] &+ w[i &+ 5])
                        round(c, d, e, &f, g, h, a, &b, k[i &+ 6] &+ w[i &+ 6])
                        round(b, c, d, &e, f, g, h, &a, k[i &+ 7] &+ w[i &+ 7])
                    }
                }
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
            }
        }
    }
}

/// One round of FIPS 180-4 section 6.2.2 step 3: `d` becomes the new `e`, `h` the new `a`.
@inline(__always)
private func round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32, _ e: UInt32, _ f: UInt32, _ g: UInt32,
    _ h: inout UInt32, _ kw: UInt32
) {
    let choice = g ^ (e & (f ^ g))
    let majority = (a & b) | (c & (a | b))
    let t1 = h &+ (e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)) &+ choice &+ kw
    d &+= t1
    h = t1 &+ (a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)) &+ majority
}

private let roundConstants: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
]

extension UInt32 {
    @inline(__always) fileprivate func rotatedRight(_ n: UInt32) -> UInt32 { (self >> n) | (self << (32 &- n)) }
}
