import Testing

@testable import KVStreamPayments

/// The synthetic payment generator: determinism, validity, time displacement and the shape of the traffic.
@Suite struct PaymentGeneratorTests {
    static func payments(_ count: Int, _ config: PaymentGeneratorConfig = PaymentGeneratorConfig()) -> [Payment] {
        var generator = PaymentGenerator(config: config)
        return (0..<count).map { _ in generator.next() }
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func portableExpIsAccurate() {
        for (x, expected) in [
            (0.0, 1.0), (1.0, 2.718281828459045), (-3.0, 0.049787068367863944),
            (10.0, 22026.465794806718), (13.5, 729416.3698477013),
        ] {
            let value = PortableMath.exp(x)
            #expect(abs(value - expected) <= expected * 1e-14)
        }
    }

    @Test func sameConfigurationGivesTheSameSequence() {
        #expect(Self.payments(2_000) == Self.payments(2_000))
        let other = Self.payments(2_000, PaymentGeneratorConfig(seed: 43))
        let same = zip(Self.payments(2_000), other).filter {
            $0.customerId == $1.customerId && $0.amountCents == $1.amountCents
        }
        #expect(same.count < 20)
    }

    @Test func eventsCanBeComputedOnTheirOwn() {
        let sequence = Self.payments(500)
        let generator = PaymentGenerator(config: PaymentGeneratorConfig())
        for index in [0, 1, 17, 499] { #expect(generator.payment(at: UInt64(index)) == sequence[index]) }
        var resumed = PaymentGenerator(config: PaymentGeneratorConfig())
        resumed.nextIndex = 250
        #expect(resumed.next() == sequence[250])
        #expect(resumed.nextIndex == 251)
    }

    @Test func generatedPaymentsAreValidAndWellFormed() throws {
        let countries = Set(PaymentWorld.countries.map(\.code))
        let currencies = Dictionary(uniqueKeysWithValues: PaymentWorld.countries.map { ($0.code, $0.currency) })
        var eventIds = Set<String>()
        for payment in Self.payments(20_000) {
            #expect(try PaymentDecoding.decode(payment.jsonLine).get() == payment)
            #expect(eventIds.insert(payment.eventId).inserted)
            #expect(payment.eventId.utf8.count <= 15)
            #expect(payment.eventId.hasPrefix("e0042-"))
            #expect(payment.customerId.utf8.count == 7 && payment.customerId.hasPrefix("c"))
            #expect(payment.merchantId.utf8.count == 5 && payment.merchantId.hasPrefix("m"))
            #expect(countries.contains(payment.country))
            #expect(currencies[payment.country] == payment.currency)
            #expect(payment.amountCents >= 50 && payment.amountCents <= 500_000)
            #expect((payment.service == .transfer) == (payment.beneficiaryId != nil))
            #expect(payment.beneficiaryId != payment.customerId)
            #expect(payment.deviceId.map { $0.hasPrefix("d" + payment.customerId.dropFirst() + "-") } ?? true)
            #expect((payment.lat == nil) == (payment.lon == nil))
            if payment.channel == .web || payment.channel == .api { #expect(payment.lat == nil) }
        }
    }

    /// Replays the events in order, tracking the largest time seen, as a watermark generator would.
    @Test(arguments: [
        PaymentGeneratorConfig(), PaymentGeneratorConfig(seed: 5, eventsPerSecond: 20),
        PaymentGeneratorConfig(seed: 6, eventsPerSecond: 0.01, outOfOrderRatio: 0.3, lateRatio: 0.3),
        PaymentGeneratorConfig(seed: 8, startMillis: 1_000, outOfOrderRatio: 0.4, lateRatio: 0.4),
    ])
    func displacementStaysWithinItsBounds(config: PaymentGeneratorConfig) {
        let generator = PaymentGenerator(config: config)
        var maxSeen: Int64 = 0
        var outOfOrder = 0
        var late = 0
        for index in 0..<UInt64(50_000) {
            let ts = generator.payment(at: index).ts
            let behindBase = generator.baseTime(of: index) - ts
            #expect(ts > 0)
            #expect(behindBase == 0 || (1...4_000).contains(behindBase) || (90_000...700_000).contains(behindBase))
            if ts < maxSeen {
                let lag = maxSeen - ts
                // Never ambiguous: within the 5 s bound, or beyond 5 s + 60 s of allowed lateness.
                #expect(lag <= 4_000 || (90_000...600_000).contains(lag))
                if lag >= 90_000 { late += 1 }
            }
            if (1...4_000).contains(behindBase) { outOfOrder += 1 }
            maxSeen = max(maxSeen, ts)
        }
        if config == PaymentGeneratorConfig() {
            #expect((2_200...2_800).contains(outOfOrder))  // 5% of 50,000
            #expect((60...140).contains(late))  // 0.2%, a little less where the event before was displaced
        }
    }

    @Test func trafficHasARealisticShape() {
        let payments = Self.payments(50_000)
        func share(_ predicate: (Payment) -> Bool) -> Double {
            Double(payments.filter(predicate).count) / Double(payments.count)
        }
        #expect((0.40...0.50).contains(share { $0.service == .cardPayment }))
        #expect((0.15...0.21).contains(share { $0.service == .transfer }))
        #expect((0.55...0.68).contains(share { $0.lat != nil }))
        #expect(share { $0.deviceId != nil } > 0.6)
        #expect(Set(payments.map(\.country)).count == 15)
        #expect(Set(payments.map(\.channel)).count == Channel.allCases.count)

        var perCustomer: [String: [Payment]] = [:]
        for payment in payments { perCustomer[payment.customerId, default: []].append(payment) }
        let busiest = perCustomer.values.map(\.count).sorted(by: >)
        // The top 1% of 10,000 customers make about 15% of the payments, none more than about 15 times the mean.
        #expect((0.13...0.20).contains(Double(busiest.prefix(100).reduce(0, +)) / Double(payments.count)))
        #expect(busiest[0] < 25 * payments.count / 10_000)
        var atHome = 0
        for history in perCustomer.values {
            var countries: [String: Int] = [:]
            for payment in history { countries[payment.country, default: 0] += 1 }
            atHome += countries.values.max() ?? 0
        }
        #expect(Double(atHome) / Double(payments.count) > 0.95)
        let amounts = payments.map(\.amountCents).sorted()
        #expect((1_000...4_000).contains(amounts[amounts.count / 2]))  // median between 10.00 and 40.00
        #expect(amounts[amounts.count * 999 / 1000] > 100_000)  // a long tail beyond 1,000.00
    }

    @Test func reportsUnusableConfigurations() {
        #expect(PaymentGeneratorConfig().problem == nil)
        #expect(PaymentGeneratorConfig(customers: 0).problem != nil)
        #expect(PaymentGeneratorConfig(eventsPerSecond: 0).problem != nil)
        #expect(PaymentGeneratorConfig(lateRatio: 1.5).problem != nil)
        #expect(PaymentGeneratorConfig(outOfOrderRatio: 0.6, lateRatio: 0.6).problem != nil)
        // Tiny worlds still work.
        for payment in Self.payments(200, PaymentGeneratorConfig(customers: 1, merchants: 1)) {
            #expect(payment.customerId == "c000000")
            #expect(payment.merchantId == "m0000")
        }
    }
}

/// Lines with invalid records mixed in.
@Suite struct PaymentLineGeneratorTests {
    @Test func invalidLinesAreInsertedBetweenTheSameValidEvents() {
        var lines = PaymentLineGenerator(config: PaymentGeneratorConfig(invalidRatio: 0.2))
        var valid: [Payment] = []
        var invalid = 0
        while valid.count < 5_000 {
            switch lines.next() {
            case .valid(let payment): valid.append(payment)
            case .invalid: invalid += 1
            }
        }
        #expect(valid == PaymentGeneratorTests.payments(5_000))
        #expect((1_000...1_500).contains(invalid))  // 20% of about 6,250 lines
        #expect(lines.invalidCount == UInt64(invalid))
    }

    @Test func invalidReasonsAreExactlyTheDecodersReasons() {
        var lines = PaymentLineGenerator(config: PaymentGeneratorConfig(seed: 11, invalidRatio: 0.5))
        var reasons = Set<String>()
        for _ in 0..<5_000 {
            guard case .invalid(let raw, let reason) = lines.next() else { continue }
            #expect(PaymentCodecTests.reason(raw) == reason)
            #expect(!raw.contains("\n") && !raw.contains("\r"))
            reasons.insert(
                reason.hasPrefix("invalid JSON at byte ") && reason.hasSuffix("end of input") ? "truncated" : reason)
        }
        #expect(reasons.count >= 18)  // every kind, and each missing field
    }

    @Test(arguments: PaymentLineGenerator.InvalidKind.allCases)
    func everyKindOfInvalidLineIsRejectedAsDescribed(kind: PaymentLineGenerator.InvalidKind) {
        var lines = PaymentLineGenerator(config: PaymentGeneratorConfig(seed: 12))
        for _ in 0..<200 {
            guard case .invalid(let raw, let reason) = lines.invalidLine(kind) else {
                Issue.record("expected an invalid line")
                return
            }
            #expect(PaymentCodecTests.reason(raw) == reason)
            #expect(!raw.contains("e0012-"))  // an invalid line never reuses a valid event's id
            lines.invalidCount += 1
            _ = lines.generator.next()
        }
    }

    /// Fraud injection: only the injected slots change, about `fraudRatio` of the events are fraud, and every
    /// episode has the shape of its pattern (bursts within a minute, decoys just short of their rule).
    @Test func fraudEpisodesReplaceFewEventsAndKeepTheirShape() {
        var config = PaymentGeneratorConfig(customers: 5_000, eventsPerSecond: 50)
        let plain = PaymentGenerator(config: config)
        config.fraudRatio = 0.01
        let injected = PaymentGenerator(config: config)
        let count: UInt64 = 200_000
        var episodes: [String: [(FraudLabel, Payment)]] = [:]
        var fraud = 0
        for index in 0..<count {
            let payment = injected.payment(at: index)
            guard let label = injected.label(at: index) else {
                #expect(payment == plain.payment(at: index), "event \(index) changed without a label")
                continue
            }
            if label.isFraud { fraud += 1 }
            #expect(payment.eventId == plain.payment(at: index).eventId)
            episodes[label.episode, default: []].append((label, payment))
        }
        let ratio = Double(fraud) / Double(count)
        #expect(ratio > 0.007 && ratio < 0.013, "fraud ratio \(ratio) for 0.01")
        // Episodes of the last window (72 steps of 10 s) may be cut by the end of the range.
        let complete = injected.baseTime(of: count) - 720_000
        for (_, events) in episodes where events.allSatisfy({ $0.1.ts < complete }) {
            let (first, _) = events[0]
            #expect(Set(events.map(\.1.customerId)).count == 1, "an episode belongs to one customer")
            let times = events.map(\.1.ts)
            let span = times.max()! - times.min()!
            switch (first.pattern, first.role) {
            case (.velocity, .fraud):
                #expect(events.count == 6 && span <= 60_000)
            case (.velocity, _):
                #expect(events.count == 4 && span <= 60_000)
            case (.manyBeneficiaries, let role):
                let distinct = Set(events.compactMap(\.1.beneficiaryId)).count
                #expect(events.allSatisfy { $0.1.service == .transfer } && span <= 600_000)
                #expect(role == .fraud ? distinct == 6 : distinct == 4 && events.count == 5)
            case (.amountSpike, .fraud):
                #expect(events[0].1.amountCents >= 600_000)
            case (.amountSpike, _):
                #expect(events[0].1.amountCents < 50_000)
            case (.newCountry, let role):
                #expect(role == .fraud ? events[0].1.amountCents >= 30_000 : events[0].1.amountCents < 30_000)
            case (.impossibleTravel, _):
                #expect(events.count == 2 && events[0].0.role == .anchor)
                #expect(events.allSatisfy { $0.1.lat != nil && $0.1.lon != nil })
            }
        }
        #expect(Set(episodes.values.map { $0[0].0.pattern }).count == FraudPattern.allCases.count)
        #expect(PaymentGeneratorConfig(fraudRatio: 0.5).problem != nil)
    }
}
