import Foundation
import KVStream
import KVStreamS3

/// SHA-256 throughput (S3 payload hashes) and HMAC-SHA256 calls on customer ids (the lake's pseudonyms).
enum HashBench {
    static func run(repeats: Int) throws {
        let buffer = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        let mebibytes = 256
        let sha = try Bench.measure(repeats) {
            var sha = SHA256()
            for _ in 0..<mebibytes { sha.update(buffer) }
            return sha.finalize()
        }
        print(String(format: "sha-256, 1 MiB updates%@: %.0f MB/s", Bench.cores,
                     Double(mebibytes << 20) / 1e6 / sha.seconds))

        // 8-byte ids, each hashed and spelled in hex as the lake writes it. The generator's ids (`c000042`) are
        // one byte shorter and cost the same: one block for the inner hash, one for the outer.
        let ids = (0..<100_000).map { String(format: "c%07d", $0) }
        let key = HMACSHA256Key("bench-pii-key".utf8)
        let rounds = 20
        let hmac = try Bench.measure(repeats) {
            var length = 0
            for _ in 0..<rounds {
                for id in ids { length &+= key.authenticationCode(for: id.utf8).hex.utf8.count }
            }
            return length
        }
        try Bench.check(hmac.result == 64 * ids.count * rounds, "hmac", hmac.result, 64 * ids.count * rounds)
        print(String(format: "hmac-sha256 of 8-byte customer ids, to hex%@: %.0f calls/s", Bench.cores,
                     Double(ids.count * rounds) / hmac.seconds))
        fflush(nil)
    }
}
