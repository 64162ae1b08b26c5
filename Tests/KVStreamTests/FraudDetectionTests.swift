import Foundation
import Synchronization
import KVStreamPayments
import Testing
@testable import KVStream
@testable import KVStreamJobs

/// The rules of `fraud-detection` one operator at a time; Tests/e2e/test_fraud.sh checks the whole job against a
/// DuckDB referee.
@Suite struct FraudDetectionTests {
    static let t0: Int64 = 1_767_225_600_000

    static func payment(
        _ id: String, _ ts: Int64, cents: Int64 = 1000, country: String = "NG", service: Service = .cardPayment,
        at place: (Double, Double)? = nil, beneficiary: String? = nil
    ) -> Payment {
        Payment(eventId: id, ts: t0 + ts, customerId: "c", merchantId: "m", service: service, amountCents: cents,
                currency: "NGN", channel: .mobile, country: country, lat: place?.0, lon: place?.1,
                beneficiaryId: beneficiary)
    }

    func harness() throws -> OperatorTestHarness<Payment, ScoredPayment> {
        try OperatorTestHarness { input in
            let scored = input.keyBy { $0.customerId }.process("rules") { FraudRules(model: .builtIn) }
            _ = scored.sideOutput(FraudRules.tooLate)  // collected by the harness once read
            return scored
        }
    }

    @Test func spikeIsDecidedExactlyAtTheBound() {
        var moments = AmountMoments()
        for i in 0..<10 { moments.add(i % 2 == 0 ? 10_000 : 30_000) }  // mean 200.00, stddev 100.00
        #expect(!moments.exceeds(60_000, sigmas: 4))
        #expect(moments.exceeds(60_001, sigmas: 4))
        #expect(moments.zScore(60_000, limit: 10) == 4)
        var equal = AmountMoments()
        for _ in 0..<10 { equal.add(10_000) }
        #expect(equal.exceeds(10_001, sigmas: 4) && !equal.exceeds(10_000, sigmas: 4))
        #expect(equal.zScore(10_001, limit: 10) == 10 && equal.zScore(9_999, limit: 10) == -10)
    }

    @Test func momentsOfTheLargestAmountsDoNotOverflow() {
        var moments = AmountMoments()
        let largest: Int64 = 999_999_999_999_999_999  // just below 10^16 in currency units
        for i in 0..<1000 { moments.add(i % 2 == 0 ? largest : 1) }
        #expect(moments.exceeds(largest, sigmas: 0))
        #expect(!moments.exceeds(largest, sigmas: 4))
        #expect(abs(moments.zScore(largest, limit: 10) - 1) < 1e-9)
    }

    @Test func stateRoundTripsThroughItsEncoding() throws {
        var profile = CustomerProfile()
        _ = profile.evaluate(PendingPayment(Self.payment("a", 0, at: (6.5, 3.4))))
        _ = profile.evaluate(PendingPayment(Self.payment("b", 10, country: "GH", service: .transfer, beneficiary: "x")))
        var writer = BinaryWriter()
        profile.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try CustomerProfile(from: &reader) == profile)
        let pending = PendingPayment(Self.payment("c", 5, at: (-1.2, 36.8), beneficiary: ""))
        var w2 = BinaryWriter()
        pending.encode(to: &w2)
        var r2 = BinaryReader(w2.bytes)
        #expect(try PendingPayment(from: &r2) == pending)
    }

    @Test func paymentsAreEvaluatedInEventTimeOrderOnceTheWatermarkPasses() throws {
        let h = try harness()
        // Five payments in one minute, written out of order: the fifth in event time is the alert.
        for (id, ts) in [("e", 40_000), ("a", 0), ("d", 30_000), ("b", 10_000), ("c", 20_000)] {
            h.push(Self.payment(id, Int64(ts)), at: Self.t0 + Int64(ts))
        }
        #expect(h.drainOutput().isEmpty)
        h.watermark(Self.t0 + 40_000)
        let out = h.drainOutput()
        #expect(out.map(\.payment.eventId) == ["a", "b", "c", "d", "e"])
        #expect(out.map(\.features.velocityCount) == [1, 2, 3, 4, 5])
        #expect(out.last?.features.rules == .velocity)
        #expect(out.allSatisfy { $0.score > 0 && $0.score < 1 })
    }

    @Test func lateWithinTheLatenessIsEvaluatedOnArrivalAndLaterGoesToLateEvents() throws {
        let h = try harness()
        h.push(Self.payment("a", 100_000), at: Self.t0 + 100_000)
        h.watermark(Self.t0 + 100_000)
        _ = h.drainOutput()
        h.push(Self.payment("late", 40_001), at: Self.t0 + 40_001)      // 59.999 s behind: evaluated now
        #expect(h.drainOutput().map { "\($0.payment.eventId) \($0.features.priorCount)" } == ["late 1"])
        h.push(Self.payment("too-late", 40_000), at: Self.t0 + 40_000)  // 60 s behind: late_events
        #expect(h.drainOutput().isEmpty)
        #expect(h.sideOutput(FraudRules.tooLate).map(\.payment.eventId) == ["too-late"])
        #expect(h.metrics.recordsLate.load(ordering: .relaxed) == 1)
    }

    @Test func travelComparesWithTheLatestLocatedPaymentInEventTime() throws {
        let h = try harness()
        let lagos = (6.5244, 3.3792), nairobi = (-1.2921, 36.8219)
        h.push(Self.payment("a", 0, at: lagos), at: Self.t0)
        h.push(Self.payment("b", 1_800_000, country: "KE", at: nairobi), at: Self.t0 + 1_800_000)
        h.watermark(Self.t0 + 1_800_000)
        #expect(h.drainOutput().map(\.features.rules) == [[], .impossibleTravel])
        // Late, 20 s before Nairobi and located in Lagos: compared with Nairobi over |dt|.
        h.push(Self.payment("late", 1_780_000, at: lagos), at: Self.t0 + 1_780_000)
        #expect(h.drainOutput().map(\.features.rules) == [.impossibleTravel])
        // The next one compares with Nairobi (latest in event time), not with the late Lagos payment.
        h.push(Self.payment("c", 2_100_000, country: "KE", at: nairobi), at: Self.t0 + 2_100_000)
        h.watermark(Self.t0 + 2_100_000)
        let last = try #require(h.drainOutput().first)
        #expect(last.features.rules.isEmpty && last.features.travelKm == 0)
    }

    @Test func newCountryAndBeneficiaries() throws {
        let h = try harness()
        for i in 0..<5 {
            h.push(Self.payment("n\(i)", Int64(i) * 60_000, service: .transfer, beneficiary: "b\(i % 4)"),
                   at: Self.t0 + Int64(i) * 60_000)
        }
        h.push(Self.payment("gh", 300_000, cents: 30_000, country: "GH", service: .transfer, beneficiary: "b9"),
               at: Self.t0 + 300_000)
        h.watermark(Self.t0 + 300_000)
        let out = h.drainOutput()
        #expect(out.map(\.features.beneficiaries) == [1, 2, 3, 4, 4, 5])
        #expect(out.last?.features.rules == [.newCountry, .manyBeneficiaries])
        #expect(out.last?.features.rules.names == ["NEW_COUNTRY", "MANY_BENEFICIARIES"])
    }

    @Test func theModelFileIsValidated() throws {
        #expect(FraudModel.builtIn.weights.count == FraudFeatures.names.count)
        func reason(_ text: String) -> String? {
            do throws(FraudModel.ModelError) {
                _ = try FraudModel.parse(Array(text.utf8))
                return nil
            } catch {
                return error.reason
            }
        }
        let all = FraudFeatures.names.map { "\"\($0)\": 1" }.joined(separator: ", ")
        #expect(reason("{\"bias\": 0, \"weights\": {\(all)}}") == nil)
        #expect(reason("{\"bias\": 0, \"weights\": {\(all), \"extra\": 1}}")?.hasPrefix("unknown feature \"extra\"") == true)
        #expect(reason("{\"bias\": 0, \"weights\": {\"velocity\": 1}}") == "\"weights\" has no \"amount_spike\"")
        #expect(reason("{\"weights\": {\(all)}}") == "no \"bias\"")
        #expect(reason("{\"bias\": true, \"weights\": {\(all)}}") != nil)
        #expect(reason("[1]") != nil)
        #expect(reason("not json") != nil)
        let settings = try Settings.parse(toml: "[jobs.fraud-detection]\nmodel = \"/no/such/file.json\"", origin: "t")
        #expect(throws: ConfigError(key: "jobs.fraud-detection.model", reason: "/no/such/file.json: no such file")) {
            try FraudModel.load(settings)
        }
    }
}
