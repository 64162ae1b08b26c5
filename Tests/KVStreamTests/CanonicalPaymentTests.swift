import Foundation
import Testing

@testable import KVStreamPayments

/// The decoder's fast path (``CanonicalPayment``) against its general path: whatever the fast path accepts, the
/// general path accepts too, as the same payment; everything else falls through to the general path.
@Suite struct CanonicalPaymentTests {
    /// Checks one record: a payment from the fast path is the general path's, and the decoder's answer is the
    /// general path's whichever way it went. Returns whether the fast path took the record.
    @discardableResult
    static func agree(_ line: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        line.withUnsafeBytes { bytes in
            let general: Swift.Result<Payment, PaymentRejection>
            do throws(PaymentRejection) {
                general = .success(try PaymentDecoding.general(bytes))
            } catch {
                general = .failure(error)
            }
            let fast = CanonicalPayment.payment(from: bytes)
            if let fast {
                #expect(general == .success(fast), "\(String(decoding: line, as: UTF8.self))", sourceLocation: sourceLocation)
            }
            #expect(PaymentDecoding.decode(bytes) == general, sourceLocation: sourceLocation)
            return fast != nil
        }
    }

    static func lines(count: Int, invalidRatio: Double, seed: UInt64) -> [GeneratedLine] {
        var config = PaymentGeneratorConfig()
        config.seed = seed
        config.invalidRatio = invalidRatio
        config.fraudRatio = 0.01
        var generator = PaymentLineGenerator(config: config)
        return (0..<count).map { _ in generator.next() }
    }

    /// Our generator's lines: every valid one takes the fast path and gives the same payment; no invalid one does.
    @Test func generatedLinesTakeTheFastPath() {
        var valid = 0
        for line in Self.lines(count: 20_000, invalidRatio: 0.1, seed: 7) {
            let taken = Self.agree(Array(line.text.utf8))
            switch line {
            case .valid:
                valid += 1
                #expect(taken, "\(line.text)")
            case .invalid:
                #expect(!taken, "\(line.text)")
            }
        }
        #expect(valid > 17_000)
    }

    /// Every byte of valid records deleted, or replaced by a byte that matters to JSON or to a rule, one at a time:
    /// the two paths agree on every result.
    @Test func damagedRecordsAgree() {
        let replacements = Array("\"\\ 0-9e.,:}{nA\u{7F}".utf8) + [0x00, 0x0A, 0x80, 0xC3]
        var taken = 0
        var total = 0
        for line in Self.lines(count: 40, invalidRatio: 0, seed: 11) {
            let bytes = Array(line.text.utf8)
            for offset in bytes.indices {
                var deleted = bytes
                deleted.remove(at: offset)
                if Self.agree(deleted) { taken += 1 }
                total += 1
                for replacement in replacements where replacement != bytes[offset] {
                    var changed = bytes
                    changed[offset] = replacement
                    if Self.agree(changed) { taken += 1 }
                    total += 1
                }
            }
        }
        // Some damage leaves a valid usual record (a digit for a digit, a letter in an id), most does not.
        #expect(taken > 0 && taken < total / 2)
    }

    /// Records valid but not in the usual form go the general way; spaces after `:` and `,` (Python's `json.dumps`)
    /// and absent optional fields stay on the fast path.
    @Test func otherShapes() {
        let head = #"{"event_id":"e1","ts":1767225600000,"customer_id":"c1","merchant_id":"m1","service":"airtime","#
            + #""amount":1.5,"currency":"KES","channel":"web","country":"KE""#
        let fast: [String] = [
            head + "}",
            head + "}\r\n",
            head + #","lat":-1.28,"lon":36.8}"#,
            head + #","lat":1,"lon":1.5}"#,
            head + #","lat":0,"lon":-0.5,"device_id":"","beneficiary_id":"b1"}"#,
            head + #","beneficiary_id":"a-much-longer-beneficiary-id-of-40-bytes"}"#,
            head.replacingOccurrences(of: "\":", with: "\": ").replacingOccurrences(of: ",\"", with: ", \"")
                + #", "device_id": "d1"}"#,
            head.replacingOccurrences(of: "c1", with: "customer-0000000000001") + "}",
        ]
        let general: [String] = [
            " " + head + "}",
            head + #","lat":1.0}"#,
            head + #","lat":91,"lon":0}"#,
            head + #","lat":1e1,"lon":0}"#,
            head + #","lat":null,"lon":null}"#,
            head + #","device_id":"d1","lat":1,"lon":2}"#,
            head + #","colour":"red"}"#,
            head + #","device_id":"d\u0031"}"#,
            head + #","device_id":"caf\#u{E9}"}"#,
            head.replacingOccurrences(of: "\"ts\":1767225600000,", with: "") + #","ts":1767225600000}"#,
            head.replacingOccurrences(of: "1767225600000", with: "1767225600000.0") + "}",
            head.replacingOccurrences(of: "1.5", with: "1.005e2") + "}",
            head.replacingOccurrences(of: "1.5", with: "0.001") + "}",
            head.replacingOccurrences(of: "\"e1\"", with: "\"\"") + "}",
            head.replacingOccurrences(of: "KES", with: "kes") + "}",
            head.replacingOccurrences(of: "\":", with: "\"\t:") + "}",
            head + "} x",
            head + #","event_id":"e2"}"#,
        ]
        for line in fast { #expect(Self.agree(Array(line.utf8)), "\(line)") }
        for line in general { #expect(!Self.agree(Array(line.utf8)), "\(line)") }
    }
}
