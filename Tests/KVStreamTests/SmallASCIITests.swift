import Foundation
import Testing

@testable import KVStreamPayments

/// Strings made in place by ``SmallASCII`` against the standard library's own, and the payments that use them.
@Suite struct SmallASCIITests {
    /// The fast path is on where our jobs run; were it off, decoding would still be right, only slower.
    @Test func layoutIsRecognized() {
        #expect(SmallASCII.isSupported)
    }

    /// Every length from 0 to 15, at every offset of a buffer, near its end included (where the bytes are read one
    /// by one): the same string as `String(decoding:as:)`, in value, in hash and in its two words.
    @Test func matchesTheStandardLibrary() {
        var state: UInt64 = 7
        let buffer: [UInt8] = (0..<64).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(0x20 + (state >> 33) % 95)
        }
        buffer.withUnsafeBytes { input in
            for start in 0..<buffer.count {
                for count in 0...min(SmallASCII.capacity, buffer.count - start) {
                    let expected = String(decoding: input[start..<start + count], as: UTF8.self)
                    let made = SmallASCII.string(input, start: start, count: count)
                    #expect(made == expected)
                    #expect(made?.hashValue == expected.hashValue)
                    #expect(made.map { unsafeBitCast($0, to: (UInt64, UInt64).self) == unsafeBitCast(expected, to: (UInt64, UInt64).self) } == true)
                }
            }
        }
    }

    /// Longer text and non-ASCII bytes are not made here: the caller takes the public path.
    @Test func refusesWhatDoesNotFit() {
        let long = Array("abcdefghijklmnop".utf8)
        long.withUnsafeBytes { #expect(SmallASCII.string($0, start: 0, count: 16) == nil) }
        let accented = Array("caf\u{E9}".utf8) + Array(repeating: UInt8(ascii: " "), count: 16)
        accented.withUnsafeBytes { #expect(SmallASCII.string($0, start: 0, count: 5) == nil) }
        let short = Array("caf\u{E9}".utf8)
        short.withUnsafeBytes { #expect(SmallASCII.string($0, start: 0, count: 5) == nil) }
    }

    /// Ids of every kind a payment holds: short ASCII, long, escaped, non-ASCII; each decodes to its text.
    @Test func paymentIdsOfEveryKind() throws {
        let cases: [(json: String, expected: String)] = [
            (#""c1""#, "c1"),
            (#""c0073190000000""#, "c0073190000000"),
            (#""c00731900000000""#, "c00731900000000"),
            (#""c007319000000000""#, "c007319000000000"),
            (#""c\u00e9""#, "c\u{E9}"),
            (#""caf\u00e9-\n""#, "caf\u{E9}-\n"),
            (#""café""#, "caf\u{E9}"),
            (#""a\"b""#, "a\"b"),
        ]
        for (json, expected) in cases {
            let line = #"{"event_id":"e1","ts":1767225600000,"customer_id":"#
                + json
                + #","merchant_id":"m1","service":"airtime","amount":1.5,"currency":"KES","channel":"web","#
                + #""country":"KE","device_id":"#
                + json
                + "}"
            let payment = try PaymentDecoding.decode(line).get()
            #expect(payment.customerId == expected)
            #expect(payment.deviceId == expected)
            #expect(payment.currency == "KES" && payment.country == "KE")
        }
    }

    /// Codes written with escapes are checked on their text and made from it.
    @Test func escapedCodes() throws {
        let line = #"{"event_id":"e1","ts":1767225600000,"customer_id":"c1","merchant_id":"m1","service":"airtime","#
            + #""amount":1.5,"currency":"\u004BES","channel":"web","country":"K\u0045"}"#
        let payment = try PaymentDecoding.decode(line).get()
        #expect(payment.currency == "KES" && payment.country == "KE")
        let lower = line.replacingOccurrences(of: #"K\u0045"#, with: #"k\u0065"#)
        #expect(throws: PaymentRejection(reason: "field 'country' must be 2 uppercase letters")) {
            try PaymentDecoding.decode(lower).get()
        }
    }
}
