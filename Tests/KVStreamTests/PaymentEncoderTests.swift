import Testing

@testable import KVStreamPayments

/// The JSON form of a payment, and `decode(encode(p)) == p`.
@Suite struct PaymentEncoderTests {
    static func roundTrip(_ payment: Payment) throws -> Payment {
        try PaymentDecoding.decode(payment.jsonLine).get()
    }

    @Test func writesSpecFieldNamesInOrderAndLeavesOutNils() {
        let base = PaymentCodecTests.basePayment
        #expect(
            base.jsonLine == #"{"event_id":"e1","ts":1767225600000,"customer_id":"c000001","merchant_id":"m0001","#
                + #""service":"card_payment","amount":12.34,"currency":"KES","channel":"pos","country":"KE"}"#
        )
        var full = base
        full.service = .billPayment
        full.lat = -1.2921
        full.lon = 36.8219
        full.deviceId = "d1"
        full.beneficiaryId = "c2"
        #expect(
            full.jsonLine.hasSuffix(
                #""service":"bill_payment","amount":12.34,"currency":"KES","channel":"pos","#
                    + #""country":"KE","lat":-1.2921,"lon":36.8219,"device_id":"d1","beneficiary_id":"c2"}"#))
    }

    @Test(
        arguments: [
            (1234, "12.34"), (5, "0.05"), (50, "0.50"), (100, "1.00"), (0, "0.00"), (-5, "-0.05"), (-1234, "-12.34"),
            (999_999_999_999_999_999, "9999999999999999.99"), (Int64.min, "-92233720368547758.08"),
        ] as [(Int64, String)])
    func writesAmountsWithTwoDecimals(cents: Int64, text: String) {
        var payment = PaymentCodecTests.basePayment
        payment.amountCents = cents
        #expect(payment.jsonLine.contains("\"amount\":\(text),"))
    }

    @Test func appendsToExistingBytes() {
        var buffer = Array("[".utf8)
        PaymentCodecTests.basePayment.appendJSON(to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "[" + PaymentCodecTests.basePayment.jsonLine)
    }

    @Test func roundTripsAwkwardStrings() throws {
        var payment = PaymentCodecTests.basePayment
        payment.eventId = "quote \" backslash \\ slash / controls \u{0}\u{1}\u{8}\u{9}\u{A}\u{C}\u{D}\u{1F}\u{7F}"
        payment.customerId = "caf\u{E9} \u{20AC} \u{1F600} \u{10FFFF}"
        payment.merchantId = String(repeating: "m", count: 300)
        payment.deviceId = ""
        payment.beneficiaryId = "\u{2028}\u{2029}"
        #expect(try Self.roundTrip(payment) == payment)
        #expect(!payment.jsonLine.contains("\n"))
    }

    @Test(arguments: [
        0.0, -0.0, 1e-05, -1e-7, 90, -90, 180, -180, 0.1, 1.0 / 3, 89.99999999999999, -179.99999999999997,
        Double.leastNonzeroMagnitude, 2.2250738585072014e-308, 12.345678901234567,
    ])
    func roundTripsCoordinates(value: Double) throws {
        var payment = PaymentCodecTests.basePayment
        payment.lat = max(-90, min(90, value))
        payment.lon = value
        let decoded = try Self.roundTrip(payment)
        #expect(decoded.lat?.bitPattern == payment.lat?.bitPattern)
        #expect(decoded.lon?.bitPattern == payment.lon?.bitPattern)
    }

    @Test func roundTripsTenThousandGeneratedPayments() throws {
        var generator = PaymentGenerator(config: PaymentGeneratorConfig(seed: 7))
        var buffer: [UInt8] = []
        for _ in 0..<10_000 {
            let payment = generator.next()
            #expect(try Self.roundTrip(payment) == payment)
            buffer.removeAll(keepingCapacity: true)
            payment.appendJSON(to: &buffer)
            #expect(try PaymentDecoding.decode(buffer).get() == payment)
        }
    }

    @Test func roundTripsRandomCoordinatesAndAmounts() throws {
        var random = SplitMix64(seed: 99)
        for _ in 0..<10_000 {
            var payment = PaymentCodecTests.basePayment
            payment.amountCents = 1 + Int64(random.nextInt(below: 1 << 40))
            payment.lat = random.nextUnit() * 180 - 90
            payment.lon = random.nextUnit() * 360 - 180
            #expect(try Self.roundTrip(payment) == payment)
        }
    }

    @Test func truncatedLinesAlwaysEndUnexpectedly() {
        var generator = PaymentGenerator(config: PaymentGeneratorConfig(seed: 3))
        for _ in 0..<20 {
            let bytes = Array(generator.next().jsonLine.utf8)
            for cut in 1..<bytes.count {
                let reason = PaymentJSONSyntaxTests.reason(Array(bytes[..<cut]))
                #expect(reason == "invalid JSON at byte \(cut): unexpected end of input")
            }
        }
    }
}
