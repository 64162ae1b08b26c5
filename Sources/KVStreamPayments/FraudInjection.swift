/// The fraud patterns of SPEC section 3, as the generator injects them.
public enum FraudPattern: String, Sendable, CaseIterable {
    case velocity = "VELOCITY"
    case amountSpike = "AMOUNT_SPIKE"
    case impossibleTravel = "IMPOSSIBLE_TRAVEL"
    case newCountry = "NEW_COUNTRY"
    case manyBeneficiaries = "MANY_BENEFICIARIES"
}

/// The ground truth of one injected payment (`kvstream gen payments --labels`).
public struct FraudLabel: Sendable, Hashable {
    /// What the payment is in its episode.
    public enum Role: String, Sendable {
        /// A fraudulent payment: a perfect detector flags it.
        case fraud
        /// A legitimate payment made to come close to a pattern without matching its rule.
        case decoy
        /// A legitimate payment that sets a pattern up (the located payment at home before an impossible trip).
        case anchor
    }

    public var pattern: FraudPattern
    public var role: Role
    /// `f<window>-<lane>`: the payments of one episode share it.
    public var episode: String

    public var isFraud: Bool { role == .fraud }
}

/// Where the generator puts fraud episodes, so that event `i` stays a pure function of the configuration and `i`.
///
/// Event time is cut into windows of 72 steps of 10 s (12 minutes). The events of a window are dealt into
/// `lanes` (the events of 10 s): event `i` of the window is step `i / lanes` of lane `i % lanes`. Each lane holds
/// at most one episode, drawn from the `fraud` stream with the lane's number alone: an episode is a few events of
/// one customer at chosen steps of its lane, so its payments are 10 s apart or a multiple of that, whatever the
/// rate. Those events replace the normal events of their slots; every other event is the normal one.
///
/// Half the episodes are fraud, half decoys that come close to the same pattern without matching its rule (4
/// payments in a minute, a spike under 500.00, a trip of under 500 km, a new country under 300.00, 4 distinct
/// beneficiaries). A normal payment of the same customer may still complete a decoy: the labels say what was
/// injected, not what a rule will find.
struct FraudSchedule: Sendable {
    static let stepMillis = 10_000.0
    static let steps: UInt64 = 72
    /// Fraudulent events per fraud episode, averaged over the patterns (6, 1, 1, 1, 6).
    static let fraudEventsPerEpisode = 3.0
    /// The largest `fraudRatio`: every lane holding an episode.
    static let maxRatio = 0.5 * fraudEventsPerEpisode / Double(steps)

    let seed: UInt64
    let lanes: UInt64
    let laneProbability: Double
    let world: PaymentWorld

    init(config: PaymentGeneratorConfig, world: PaymentWorld) {
        seed = config.seed
        self.world = world
        lanes = max(1, UInt64((Self.stepMillis * config.eventsPerSecond / 1000).rounded()))
        laneProbability = min(1, config.fraudRatio / Self.maxRatio)
    }

    /// One injected payment: what to change in the slot's event, and its label.
    struct Injected {
        var label: FraudLabel
        var customer: PaymentWorld.Customer
        var service: Service
        var channel: Channel
        var country: Int
        var amountCents: Int64?
        var location: (lat: Double, lon: Double)?
        var beneficiaryId: String?
    }

    /// The injected payment at event `index`, or nil for a normal one.
    func injected(at index: UInt64) -> Injected? {
        guard laneProbability > 0 else { return nil }
        let windowLength = lanes * Self.steps
        let window = index / windowLength
        let lane = (index % windowLength) % lanes
        let step = Int((index % windowLength) / lanes)
        let laneNumber = window &* lanes &+ lane
        var random = SplitMix64(seed: seed, stream: PaymentWorld.Stream.fraud.rawValue, index: laneNumber)
        guard random.nextUnit() < laneProbability else { return nil }
        let pattern = FraudPattern.allCases[random.nextInt(below: FraudPattern.allCases.count)]
        let fraud = random.nextUnit() < 0.5
        let offsets = Self.offsets(pattern, fraud: fraud)
        let start = random.nextInt(below: Int(Self.steps) - offsets.last! )
        guard let k = offsets.firstIndex(of: step - start) else { return nil }
        let episode = "f\(window)-\(lane)"
        // Spikes and new countries need a history: their customers come from the busiest 10% (40% of payments).
        let busy = pattern == .amountSpike || pattern == .newCountry
        let customer = world.customer(world.customerNumber(unit: random.nextUnit() * (busy ? 0.40 : 1)))
        let role: FraudLabel.Role = fraud ? .fraud : .decoy
        var result = Injected(
            label: FraudLabel(pattern: pattern, role: role, episode: episode), customer: customer,
            service: .cardPayment, channel: .web, country: customer.homeCountry)
        let unit = random.nextUnit()
        switch pattern {
        case .velocity:
            // Small online card payments in a burst: 6 within 50 s, or 4 within 30 s.
            result.amountCents = 500 + Int64(unit * 4_000) + Int64(k) * 37
        case .amountSpike:
            // Far above anything the customer pays (normal amounts stop at 5,000.00), or just under 500.00.
            result.amountCents = fraud ? 600_000 + Int64(unit * 300_000) : 45_000 + Int64(unit * 4_900)
        case .impossibleTravel:
            let home = PaymentWorld.countries[customer.homeCountry]
            if k == 0 {
                // A terminal payment at home, then one far away a few minutes later.
                result.label.role = .anchor
                result.channel = .pos
                result.location = (home.lat, home.lon)
                result.amountCents = 2_000 + Int64(unit * 8_000)
            } else if fraud {
                let far = Self.farCountry(from: customer.homeCountry, pick: random.nextInt(below: 1_000))
                let place = PaymentWorld.countries[far]
                result.channel = .pos
                result.country = far
                result.location = (place.lat, place.lon)
                result.amountCents = 20_000 + Int64(unit * 80_000)
            } else {
                // About 300 km from home ten minutes later: fast, but not far enough.
                result.channel = .pos
                result.location = (home.lat + 2.7, home.lon)
                result.amountCents = 2_000 + Int64(unit * 8_000)
            }
        case .newCountry:
            let other = (customer.homeCountry + 1 + random.nextInt(below: PaymentWorld.countries.count - 1))
                % PaymentWorld.countries.count
            result.country = other
            result.amountCents = fraud ? 30_000 + Int64(unit * 170_000) : 2_000 + Int64(unit * 27_000)
        case .manyBeneficiaries:
            // Transfers to mules: 6 distinct new beneficiaries in 5 minutes, or 5 transfers to 4 of them.
            result.service = .transfer
            result.channel = .mobile
            result.amountCents = 5_000 + Int64(unit * 45_000)
            let mule = fraud ? k : min(k, 3)
            var mules = SplitMix64(seed: seed, stream: PaymentWorld.Stream.fraud.rawValue, index: ~laneNumber)
            var number = 0
            for _ in 0...mule { number = mules.nextInt(below: max(1, world.customerCount)) }
            result.beneficiaryId = Identifier.make("c", number, width: 6)
        }
        return result
    }

    /// The steps (of 10 s) of an episode's payments, from its start.
    static func offsets(_ pattern: FraudPattern, fraud: Bool) -> [Int] {
        switch pattern {
        case .velocity: fraud ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3]
        case .amountSpike, .newCountry: [0]
        case .impossibleTravel: fraud ? [0, 18] : [0, 60]
        case .manyBeneficiaries: fraud ? [0, 6, 12, 18, 24, 30] : [0, 6, 12, 18, 24]
        }
    }

    /// A country at least 2,000 km from `home`: 18 degrees of latitude apart (2,000 km), or 30 of longitude
    /// (over 2,000 km below 52 degrees of latitude, where every country of the world lies). No trigonometry here:
    /// the package avoids platform maths so that the sequence is the same everywhere.
    static func farCountry(from home: Int, pick: Int) -> Int {
        let countries = PaymentWorld.countries
        let far = countries.indices.filter {
            abs(countries[home].lat - countries[$0].lat) >= 18 || abs(countries[home].lon - countries[$0].lon) >= 30
        }
        return far.isEmpty ? (home + 1) % countries.count : far[pick % far.count]
    }
}
