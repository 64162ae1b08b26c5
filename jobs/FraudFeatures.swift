import KVStream

/// The rules of SPEC section 3, as bits of a set.
struct FraudRuleSet: OptionSet, Sendable, Hashable {
    let rawValue: UInt8

    static let velocity = FraudRuleSet(rawValue: 1 << 0)
    static let amountSpike = FraudRuleSet(rawValue: 1 << 1)
    static let impossibleTravel = FraudRuleSet(rawValue: 1 << 2)
    static let newCountry = FraudRuleSet(rawValue: 1 << 3)
    static let manyBeneficiaries = FraudRuleSet(rawValue: 1 << 4)

    /// Every rule with its name in `fraud_alerts.rules`, in the SPEC's order (the order of a row's list).
    static let named: [(rule: FraudRuleSet, name: String)] = [
        (.velocity, "VELOCITY"), (.amountSpike, "AMOUNT_SPIKE"), (.impossibleTravel, "IMPOSSIBLE_TRAVEL"),
        (.newCountry, "NEW_COUNTRY"), (.manyBeneficiaries, "MANY_BENEFICIARIES"),
    ]

    /// The names of the rules in the set, in the SPEC's order.
    var names: [String] { Self.named.compactMap { contains($0.rule) ? $0.name : nil } }
}

/// What the rules measured for one payment: the rules that hold and the numbers the score is computed from.
///
/// The model (``FraudModel``) has one weight per feature, by name: the five rules (1 when it holds, else 0) and the
/// numbers below. `details` of `fraud_alerts` and `features` of `payments_scored` carry the numbers as JSON.
struct FraudFeatures: Sendable, Equatable {
    var rules: FraudRuleSet = []
    /// The customer's payments with `ts` in `[ts - 60 s, ts]`, this one and the prior ones (`VELOCITY` at 5).
    var velocityCount: Int64 = 1
    /// Prior payments of the customer (all of them, not a window).
    var priorCount: Int64 = 0
    /// Population standard deviations of the amount above the mean of the prior amounts, within [-10, 10];
    /// 0 with fewer than 10 prior payments (`AMOUNT_SPIKE` needs 10).
    var amountZ: Double = 0
    /// `log10(1 + amount)`, the amount in currency units.
    var logAmount: Double = 0
    /// Distance to the previous payment carrying `lat`/`lon`, in km (0 when either has none).
    var travelKm: Double = 0
    /// Speed implied by that distance and the time between, km/h, at most 20,000 (0 when there is no distance).
    var travelKmh: Double = 0
    /// Distinct `beneficiary_id` of the customer's transfers with `ts` in `[ts - 10 min, ts]` (this one and prior
    /// ones), 0 for a payment that is not a transfer (`MANY_BENEFICIARIES` at 5).
    var beneficiaries: Int64 = 0

    static let amountZLimit = 10.0
    static let speedLimitKmh = 20_000.0

    /// The features the model weighs, in the order of ``value(_:)``.
    static let names = [
        "velocity", "amount_spike", "impossible_travel", "new_country", "many_beneficiaries", "velocity_count",
        "prior_count", "amount_z", "log_amount", "travel_km", "travel_kmh", "beneficiaries",
    ]

    /// Feature `index` of ``names``.
    func value(_ index: Int) -> Double {
        switch index {
        case 0: rules.contains(.velocity) ? 1 : 0
        case 1: rules.contains(.amountSpike) ? 1 : 0
        case 2: rules.contains(.impossibleTravel) ? 1 : 0
        case 3: rules.contains(.newCountry) ? 1 : 0
        case 4: rules.contains(.manyBeneficiaries) ? 1 : 0
        case 5: Double(velocityCount)
        case 6: Double(priorCount)
        case 7: amountZ
        case 8: logAmount
        case 9: travelKm
        case 10: travelKmh
        default: Double(beneficiaries)
        }
    }

    /// The numeric features as one JSON object (the rules are a column of their own).
    var json: String {
        "{\"velocity_count\":\(velocityCount),\"prior_count\":\(priorCount),\"amount_z\":\(Self.number(amountZ)),"
            + "\"log_amount\":\(Self.number(logAmount)),\"travel_km\":\(Self.number(travelKm)),"
            + "\"travel_kmh\":\(Self.number(travelKmh)),\"beneficiaries\":\(beneficiaries)}"
    }

    /// A finite double as JSON (Swift prints the shortest text that reads back the same; features are finite).
    private static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "0" }
}
