import Testing

@testable import KVStreamPayments

/// Decoding and encoding of the payment event: every rule of SPEC section 2, accepted and rejected.
@Suite struct PaymentCodecTests {
    /// A valid record's fields as raw JSON values, in SPEC order.
    static let baseFields: [(String, String)] = [
        ("event_id", "\"e1\""), ("ts", "1767225600000"), ("customer_id", "\"c000001\""),
        ("merchant_id", "\"m0001\""), ("service", "\"card_payment\""), ("amount", "12.34"),
        ("currency", "\"KES\""), ("channel", "\"pos\""), ("country", "\"KE\""),
    ]

    static let basePayment = Payment(
        eventId: "e1", ts: 1_767_225_600_000, customerId: "c000001", merchantId: "m0001", service: .cardPayment,
        amountCents: 1234, currency: "KES", channel: .pos, country: "KE"
    )

    /// The base record with some fields replaced by raw JSON (nil removes the field) and others appended.
    static func record(_ changes: [String: String?] = [:], extra: [(String, String)] = []) -> String {
        var members: [String] = []
        for (key, value) in baseFields {
            if let change = changes[key] {
                if let change { members.append("\"\(key)\":\(change)") }
            } else {
                members.append("\"\(key)\":\(value)")
            }
        }
        for (key, value) in changes where !baseFields.contains(where: { $0.0 == key }) {
            if let value { members.append("\"\(key)\":\(value)") }
        }
        for (key, value) in extra { members.append("\"\(key)\":\(value)") }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func reason(_ line: String) -> String? {
        switch PaymentDecoding.decode(line) {
        case .success: nil
        case .failure(let rejection): rejection.reason
        }
    }

    static func payment(_ line: String) -> Payment? { try? PaymentDecoding.decode(line).get() }

    @Test func acceptsTheBaseRecord() {
        #expect(Self.payment(Self.record()) == Self.basePayment)
    }

    /// Keys are first compared with the one expected in the SPEC's order; any other order takes the general path,
    /// and both must give the same payment, including when the record ends within 16 bytes of a key.
    @Test func decodesFieldsInAnyOrder() {
        let members =
            Self.baseFields.map { "\"\($0.0)\":\($0.1)" } + ["\"device_id\":\"d1\"", "\"lat\":1.5", "\"lon\":2"]
        var expected = Self.basePayment
        expected.deviceId = "d1"
        expected.lat = 1.5
        expected.lon = 2
        var random = SplitMix64(seed: 3)
        var orders = [members, members.reversed(), Array(members.dropFirst(4) + members.prefix(4))]
        for _ in 0..<20 {
            orders.append(members.shuffled(using: &random))
        }
        for order in orders {
            for separator in [",", " , "] {
                let line = "{" + order.joined(separator: separator) + "}"
                #expect(Self.payment(line) == expected, "\(line)")
            }
        }
        // A key that starts like an expected one is not taken for it.
        let longer = "{\"event_idx\":\"z\"," + members.joined(separator: ",") + ",\"latitude\":99}"
        #expect(Self.payment(longer) == expected)
    }

    @Test func acceptsEveryServiceAndChannel() {
        for service in Service.allCases {
            #expect(Self.payment(Self.record(["service": "\"\(service.name)\""]))?.service == service)
        }
        for channel in Channel.allCases {
            #expect(Self.payment(Self.record(["channel": "\"\(channel.name)\""]))?.channel == channel)
        }
    }

    @Test(
        arguments: [
            ("19.99", 1999), ("0.29", 29), ("0.1", 10), ("1", 100), ("1.0", 100), ("1e2", 10_000), ("1E-2", 1),
            ("2.675", 268), ("1.005", 101), ("1.004", 100), ("12.345", 1235), ("0.005", 1), ("0.0050", 1),
            ("0.015", 2), ("100.0000000000000000001", 10_000), ("0.00999", 1), ("12.3449999", 1234),
            ("9999999999999999.99", 999_999_999_999_999_999), ("12345.678e-3", 1235), ("12345678.9e-3", 1_234_568),
            ("0.000012e6", 1200),
        ] as [(String, Int64)])
    func convertsAmountsToExactCents(literal: String, cents: Int64) {
        #expect(Self.payment(Self.record(["amount": literal]))?.amountCents == cents)
    }

    @Test(arguments: [
        ("0", "must be > 0"), ("0.0", "must be > 0"), ("-0", "must be > 0"), ("-1", "must be > 0"),
        ("-12.34", "must be > 0"), ("0.001", "must be > 0"), ("0.004999", "must be > 0"), ("1e-300", "must be > 0"),
        ("-1e400", "must be > 0"), ("1e16", "out of range"), ("10000000000000000", "out of range"),
        ("9999999999999999.995", "out of range"), ("1e300", "out of range"), ("1e400", "must be finite"),
        ("\"12.34\"", "must be a number"), ("true", "must be a number"), ("{}", "must be a number"),
    ])
    func rejectsBadAmounts(literal: String, rule: String) {
        #expect(Self.reason(Self.record(["amount": literal])) == "field 'amount' \(rule)")
    }

    @Test func acceptsIntegerTimestamps() {
        #expect(Self.payment(Self.record(["ts": "1"]))?.ts == 1)
        #expect(Self.payment(Self.record(["ts": "9223372036854775807"]))?.ts == Int64.max)
    }

    @Test(arguments: [
        ("1.5", "must be an integer"), ("1767225600000.0", "must be an integer"), ("1.7e12", "must be an integer"),
        ("1e3", "must be an integer"), ("\"1767225600000\"", "must be an integer"), ("true", "must be an integer"),
        ("0", "must be > 0"), ("-0", "must be > 0"), ("-5", "must be > 0"), ("-99999999999999999999", "must be > 0"),
        ("9223372036854775808", "out of range"),
    ])
    func rejectsBadTimestamps(literal: String, rule: String) {
        #expect(Self.reason(Self.record(["ts": literal])) == "field 'ts' \(rule)")
    }

    @Test(arguments: [
        "event_id", "ts", "customer_id", "merchant_id", "service", "amount", "currency", "channel",
        "country",
    ])
    func rejectsMissingOrNullRequiredFields(field: String) {
        #expect(Self.reason(Self.record([field: nil])) == "missing field '\(field)'")
        #expect(Self.reason(Self.record([field: "null"])) == "missing field '\(field)'")
    }

    @Test(arguments: ["event_id", "customer_id", "merchant_id"])
    func requiresNonEmptyIdentifiers(field: String) {
        for value in ["\"\"", "5", "[]", "{}", "false"] {
            #expect(Self.reason(Self.record([field: value])) == "field '\(field)' must be a non-empty string")
        }
        #expect(Self.payment(Self.record([field: "\" \""])) != nil)
    }

    @Test func rejectsUnknownServicesAndChannels() {
        let services = "must be one of card_payment, transfer, withdrawal, deposit, bill_payment, airtime"
        for value in ["\"crypto\"", "\"Card_Payment\"", "\"card_payment \"", "\"\"", "3"] {
            #expect(Self.reason(Self.record(["service": value])) == "field 'service' \(services)")
        }
        for value in ["\"atm\"", "\"WEB\"", "1"] {
            #expect(
                Self.reason(Self.record(["channel": value]))
                    == "field 'channel' must be one of web, mobile, pos, api, agent")
        }
    }

    @Test func requiresUppercaseCurrencyAndCountryCodes() {
        for value in ["\"KE\"", "\"kes\"", "\"KESX\"", "\"K1S\"", "\"\"", "978", "\"K\u{c9}S\""] {
            #expect(Self.reason(Self.record(["currency": value])) == "field 'currency' must be 3 uppercase letters")
        }
        for value in ["\"KEN\"", "\"ke\"", "\"K\"", "\"K1\"", "404"] {
            #expect(Self.reason(Self.record(["country": value])) == "field 'country' must be 2 uppercase letters")
        }
        #expect(Self.payment(Self.record(["currency": "\"\\u004BES\"", "country": "\"G\\u0042\""]))?.country == "GB")
    }

    @Test func acceptsCoordinatesWithinRange() {
        let payment = Self.payment(Self.record(["lat": "-1.2921", "lon": "36.8219"]))
        #expect(payment?.lat == -1.2921)
        #expect(payment?.lon == 36.8219)
        for (lat, lon) in [("90", "180"), ("-90", "-180"), ("0", "-0.0"), ("1e-05", "-2.5E+1")] {
            #expect(Self.payment(Self.record(["lat": lat, "lon": lon])) != nil)
        }
        let long = Self.payment(Self.record(["lat": "0.1234567890123456789", "lon": "-179.99999999999997"]))
        #expect(long?.lat == Double("0.1234567890123456789"))
        #expect(long?.lon == -179.99999999999997)
    }

    @Test func rejectsBadCoordinates() {
        let together = "fields 'lat' and 'lon' must be given together"
        #expect(Self.reason(Self.record(["lat": "1"])) == together)
        #expect(Self.reason(Self.record(["lon": "1"])) == together)
        #expect(Self.reason(Self.record(["lat": "null", "lon": "1"])) == together)
        #expect(Self.reason(Self.record(["lat": "90.0001", "lon": "0"])) == "field 'lat' out of range [-90, 90]")
        #expect(Self.reason(Self.record(["lat": "-91", "lon": "0"])) == "field 'lat' out of range [-90, 90]")
        #expect(Self.reason(Self.record(["lat": "1e400", "lon": "0"])) == "field 'lat' out of range [-90, 90]")
        #expect(Self.reason(Self.record(["lat": "0", "lon": "180.5"])) == "field 'lon' out of range [-180, 180]")
        #expect(Self.reason(Self.record(["lat": "\"1\"", "lon": "0"])) == "field 'lat' must be a number")
        #expect(Self.reason(Self.record(["lat": "0", "lon": "[]"])) == "field 'lon' must be a number")
    }

    @Test func readsOptionalStrings() {
        let payment = Self.payment(Self.record(["device_id": "\"d1\"", "beneficiary_id": "\"c000002\""]))
        #expect(payment?.deviceId == "d1")
        #expect(payment?.beneficiaryId == "c000002")
        let empty = Self.payment(Self.record(["device_id": "\"\"", "beneficiary_id": "null"]))
        #expect(empty?.deviceId == "")
        #expect(empty?.beneficiaryId == nil)
        #expect(Self.reason(Self.record(["device_id": "5"])) == "field 'device_id' must be a string")
        #expect(Self.reason(Self.record(["beneficiary_id": "{}"])) == "field 'beneficiary_id' must be a string")
        // The SPEC says beneficiary_id is "set on transfers", not required on them.
        #expect(Self.payment(Self.record(["service": "\"transfer\""]))?.beneficiaryId == nil)
    }

    @Test func reportsTheFirstBrokenRuleInFieldOrder() {
        let line = Self.record(["ts": "0", "amount": "-1", "country": "\"x\""])
        #expect(Self.reason(line) == "field 'ts' must be > 0")
    }

    @Test func ignoresUnknownFieldsOfAnyType() {
        let extra: [(String, String)] = [
            ("nested", #"{"a":{"b":[1,{"c":"}]\"{"}],"d":null},"e":[]}"#),
            ("array", "[[[]],[{}],\"]\",-0.5e+10,true,false,null]"), ("text", #""a\"b\\\u00e9\ud83d\ude00""#),
            ("number", "-12.5E-3"), ("yes", "true"), ("no", "false"), ("nothing", "null"), ("", "1"),
            ("amount_extra", "\"x\""), ("tss", "\"x\""), ("Ts", "\"x\""),
        ]
        #expect(Self.payment(Self.record(extra: extra)) == Self.basePayment)
    }

    @Test func rejectsInvalidJSONInUnknownFields() {
        #expect(Self.reason("{\"x\":[1,2}}") == "invalid JSON at byte 9: expected ',' or ']'")
        #expect(Self.reason("{\"x\":{\"y\" 1}}") == "invalid JSON at byte 10: expected ':'")
        #expect(Self.reason("{\"x\":{1:2}}") == "invalid JSON at byte 6: expected '\"' or '}'")
        #expect(Self.reason("{\"x\":{\"a\":1,2}}") == "invalid JSON at byte 12: expected '\"'")
        let deep = "{\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(Self.reason(deep) == "invalid JSON at byte 68: nesting too deep")
    }

    @Test func keepsTheLastOfDuplicateKeys() {
        let amounts = "{\"amount\":1," + Self.record(["amount": "2"]).dropFirst()
        #expect(Self.payment(amounts)?.amountCents == 200)
        let fixed = Self.record(extra: [("ts", "5")])
            .replacing("\"ts\":1767225600000", with: "\"ts\":\"x\"", maxReplacements: 1)
        #expect(Self.payment(fixed)?.ts == 5)
        let cleared = Self.record(["lat": "1", "lon": "2"], extra: [("lat", "null")])
        #expect(Self.reason(cleared) == "fields 'lat' and 'lon' must be given together")
    }
}

/// The JSON layer under the payment rules: structure, whitespace, strings, escapes and UTF-8.
@Suite struct PaymentJSONSyntaxTests {
    static func reason(_ bytes: [UInt8]) -> String? {
        switch PaymentDecoding.decode(bytes) {
        case .success: nil
        case .failure(let rejection): rejection.reason
        }
    }

    @Test(arguments: [
        ("", "empty record"), (" \t\r\n", "empty record"), ("[]", "not a JSON object"), ("[1,{}]", "not a JSON object"),
        ("\"x\"", "not a JSON object"), ("42", "not a JSON object"), ("null", "not a JSON object"),
        ("hello", "invalid JSON at byte 0: expected a value"), ("  hello", "invalid JSON at byte 2: expected a value"),
        ("[1,", "invalid JSON at byte 3: unexpected end of input"),
        ("{", "invalid JSON at byte 1: unexpected end of input"),
        ("  {", "invalid JSON at byte 3: unexpected end of input"), ("{}", "missing field 'event_id'"),
        ("{\"a\" 1}", "invalid JSON at byte 5: expected ':'"), ("{\"a\":1,}", "invalid JSON at byte 7: expected '\"'"),
        ("{,}", "invalid JSON at byte 1: expected '\"' or '}'"),
        ("{\"a\":1 \"b\":2}", "invalid JSON at byte 7: expected ',' or '}'"),
        ("{\"a\":}", "invalid JSON at byte 5: expected a value"),
        ("{} {}", "trailing data after JSON object at byte 3"),
        ("{}x", "trailing data after JSON object at byte 2"),
        ("{\"a\":01}", "invalid JSON at byte 6: expected ',' or '}'"),
        ("{\"a\":1.}", "invalid JSON at byte 7: invalid number"),
        ("{\"a\":-}", "invalid JSON at byte 6: invalid number"),
        ("{\"a\":.5}", "invalid JSON at byte 5: expected a value"),
        ("{\"a\":+1}", "invalid JSON at byte 5: expected a value"),
        ("{\"a\":1e}", "invalid JSON at byte 7: invalid number"),
        ("{\"a\":1e", "invalid JSON at byte 7: unexpected end of input"),
        ("{\"a\":NaN}", "invalid JSON at byte 5: expected a value"),
        ("{\"a\":Infinity}", "invalid JSON at byte 5: expected a value"),
        ("{\"a\":tru", "invalid JSON at byte 8: unexpected end of input"),
        ("{\"a\":trux}", "invalid JSON at byte 5: invalid literal"),
        ("{\"a\":nul}", "invalid JSON at byte 5: invalid literal"),
        ("{'a':1}", "invalid JSON at byte 1: expected '\"' or '}'"),
        ("{\"a\":\"x}", "invalid JSON at byte 8: unexpected end of input"),
    ])
    func reportsStructureErrors(line: String, reason: String) {
        #expect(PaymentCodecTests.reason(line) == reason)
    }

    @Test func allowsSurroundingWhitespace() {
        let line = PaymentCodecTests.record()
        for wrapped in [line + "\r", line + "\r\n", " \t" + line + " \n", "\n" + line] {
            #expect(PaymentCodecTests.payment(wrapped) == PaymentCodecTests.basePayment)
        }
        let spaced = line.replacing(",", with: " ,\n\t").replacing(":", with: " : ")
        #expect(PaymentCodecTests.payment("{ " + spaced.dropFirst().dropLast() + " }") == PaymentCodecTests.basePayment)
    }

    @Test func decodesEveryEscape() {
        let raw = #""a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00""#
        let payment = PaymentCodecTests.payment(PaymentCodecTests.record(["event_id": raw]))
        #expect(payment?.eventId == "a\"b\\c/d\u{8}\u{C}\n\r\tA\u{E9}\u{20AC}\u{1F600}")
        let plain = PaymentCodecTests.payment(PaymentCodecTests.record(["merchant_id": "\"caf\u{E9} \u{1F600}\""]))
        #expect(plain?.merchantId == "caf\u{E9} \u{1F600}")
        let nul = PaymentCodecTests.payment(PaymentCodecTests.record(["device_id": #""\u0000""#]))
        #expect(nul?.deviceId == "\u{0}")
    }

    @Test func matchesKeysAndNamesWrittenWithEscapes() {
        let line = PaymentCodecTests.record().replacing("\"ts\"", with: #""\u0074s""#)
            .replacing("\"card_payment\"", with: #""card\u005fpayment""#).replacing("\"pos\"", with: #""p\u006Fs""#)
        #expect(PaymentCodecTests.payment(line) == PaymentCodecTests.basePayment)
    }

    @Test(
        arguments: [
            (#""\ud83d""#, "unpaired surrogate"), (#""\ud83dx""#, "unpaired surrogate"),
            (#""\ud83d\n""#, "unpaired surrogate"),
            (#""\ud83d\u0041""#, "unpaired surrogate"), (#""\ude00""#, "unpaired surrogate"),
            (#""\x""#, "invalid escape"),
            (#""\u12G4""#, "invalid \\u escape"), (#""\U0041""#, "invalid escape"),
        ] as [(String, String)])
    func rejectsBadEscapes(value: String, message: String) {
        let line = "{\"a\":\(value)}"
        #expect(PaymentCodecTests.reason(line)?.hasPrefix("invalid JSON at byte ") == true)
        #expect(PaymentCodecTests.reason(line)?.hasSuffix(": \(message)") == true)
    }

    @Test func rejectsControlCharactersAndInvalidUTF8() {
        #expect(PaymentCodecTests.reason("{\"a\":\"x\ty\"}") == "invalid JSON at byte 7: control character in string")
        let prefix = Array("{\"a\":\"x".utf8)
        let sequences: [[UInt8]] = [
            [0xC3, 0x28], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0x80], [0xFF], [0xE2, 0x82],
        ]
        for sequence in sequences {
            #expect(Self.reason(prefix + sequence + Array("\"}".utf8)) == "invalid JSON at byte 7: invalid UTF-8")
        }
        #expect(Self.reason(prefix + [0xE2, 0x82]) == "invalid JSON at byte 9: unexpected end of input")
        #expect(
            Self.reason(prefix + [0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80] + Array("\"}".utf8))
                == "missing field 'event_id'")
        #expect(Self.reason(Array("{\"a\":1}".utf8) + [0xC3]) == "trailing data after JSON object at byte 7")
    }

    @Test func decodesTheSameFromEveryInputForm() throws {
        let line = PaymentCodecTests.record(["lat": "1.5", "lon": "-2.25"])
        let fromString = try PaymentDecoding.decode(line).get()
        let fromBytes = try PaymentDecoding.decode(Array(line.utf8)).get()
        let fromBuffer = try Array(line.utf8).withUnsafeBytes { bytes throws(PaymentRejection) in
            try PaymentDecoding.payment(from: bytes)
        }
        #expect(fromString == fromBytes)
        #expect(fromString == fromBuffer)
        // A record inside a larger buffer: the decoder must not read past its slice.
        let framed = Array(("{\"ts\":" + line + "\n").utf8)
        let inner = framed.withUnsafeBytes {
            PaymentDecoding.decode(UnsafeRawBufferPointer(rebasing: $0[6..<framed.count - 1]))
        }
        #expect(try inner.get() == fromString)
    }
}
