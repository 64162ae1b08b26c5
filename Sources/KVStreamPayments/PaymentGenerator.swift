/// A deterministic source of synthetic, valid payment events (SPEC section 2).
///
/// Event `i` is a pure function of the configuration and `i` (see ``payment(at:)``), so a source can resume
/// from a checkpointed ``nextIndex`` or split the index range between workers and still produce exactly the
/// same events. Event times advance by `1000 / eventsPerSecond` ms per event; a few events are moved back in
/// time, out of order or late, within the bounds ``PaymentGeneratorConfig`` documents.
///
/// The shape of the traffic: customers `c000123` with a home country (one of 15) where nearly all their
/// payments happen, in that country's currency and, for terminals and phones, near their home; uneven activity
/// (the top 1% of customers make 15% of the payments); card payments most common, transfers
/// to a small set of usual beneficiaries (other customers) per customer; log-normal amounts from 0.50 to
/// 5,000.00 with a long tail; a few online card payments abroad, without a location.
///
/// Normal events never break a fraud rule on purpose. With a `fraudRatio`, fraud episodes and decoys replace a few
/// normal events (``FraudSchedule``, drawing from the `fraud` stream of ``SplitMix64``): every other event stays
/// the same whatever is injected, and ``label(at:)`` gives the ground truth of the injected ones.
public struct PaymentGenerator: Sendable {
    public let config: PaymentGeneratorConfig
    /// The index of the event ``next()`` returns.
    public var nextIndex: UInt64 = 0

    let world: PaymentWorld
    private let fraud: FraudSchedule
    private let millisPerEvent: Double
    /// Four decimal digits of the seed in every event id, so runs with different seeds rarely share ids.
    let seedTag: Int

    /// Share of card payments made online with a merchant abroad.
    static let abroadShare = 0.06

    /// - Precondition: `config.problem == nil`.
    public init(config: PaymentGeneratorConfig) {
        precondition(config.problem == nil, "invalid PaymentGeneratorConfig: \(config.problem ?? "")")
        self.config = config
        world = PaymentWorld(seed: config.seed, customers: config.customers, merchants: config.merchants)
        fraud = FraudSchedule(config: config, world: world)
        millisPerEvent = 1000 / config.eventsPerSecond
        seedTag = Int(config.seed < 10_000 ? config.seed : SplitMix64.mix(config.seed) % 10_000)
    }

    /// The next event of the sequence.
    public mutating func next() -> Payment {
        defer { nextIndex += 1 }
        return payment(at: nextIndex)
    }

    /// The ground truth of event `index`: nil for a normal payment.
    public func label(at index: UInt64) -> FraudLabel? { fraud.injected(at: index)?.label }

    /// Event `index` of the sequence, without moving ``nextIndex``.
    public func payment(at index: UInt64) -> Payment {
        if let injected = fraud.injected(at: index) { return payment(index, injected) }
        var random = SplitMix64(seed: config.seed, stream: PaymentWorld.Stream.event.rawValue, index: index)
        let ts = eventTime(index, &random)
        let customer = world.customer(world.customerNumber(unit: random.nextUnit()))
        let service = ServiceMix.service(pick: random.nextInt(below: 1000))
        var channel = ServiceMix.channel(for: service, unit: random.nextUnit())
        var country = customer.homeCountry
        if service == .cardPayment && random.nextUnit() < Self.abroadShare {
            let countryCount = PaymentWorld.countries.count
            country = (country + 1 + random.nextInt(below: countryCount - 1)) % countryCount
            channel = random.nextUnit() < 0.7 ? .web : .api
        }
        let merchantId = world.merchantId(for: service, unit: random.nextUnit())
        let amountCents = amount(service, customer, &random)
        var lat: Double?
        var lon: Double?
        if random.nextUnit() < ServiceMix.locationShare(channel) {
            // About 1 km around home, to six decimals (10 cm), as a phone or terminal would report it.
            lat = Self.sixDecimals(min(90, max(-90, customer.homeLat + 0.01 * random.nextGaussian())))
            lon = Self.sixDecimals(min(180, max(-180, customer.homeLon + 0.01 * random.nextGaussian())))
        }
        var deviceId: String?
        if random.nextUnit() < ServiceMix.deviceShare(channel) {
            deviceId = world.deviceId(of: customer, 1 + random.nextInt(below: customer.deviceCount))
        }
        var beneficiaryId: String?
        if service == .transfer {
            beneficiaryId = world.beneficiaryId(of: customer, random.nextInt(below: customer.beneficiaryCount))
        }
        let place = PaymentWorld.countries[country]
        return Payment(
            eventId: Identifier.make("e", seedTag, width: 4, then: Int(truncatingIfNeeded: index), width: 9),
            ts: ts, customerId: customer.id, merchantId: merchantId, service: service, amountCents: amountCents,
            currency: place.currency, channel: channel, country: place.code, lat: lat, lon: lon,
            deviceId: deviceId, beneficiaryId: beneficiaryId
        )
    }

    /// An injected payment: at the slot's undisplaced time, with the slot's event id.
    private func payment(_ index: UInt64, _ injected: FraudSchedule.Injected) -> Payment {
        var random = SplitMix64(seed: config.seed, stream: PaymentWorld.Stream.event.rawValue, index: index)
        let place = PaymentWorld.countries[injected.country]
        let customer = injected.customer
        let service = injected.service
        var deviceId: String?
        if random.nextUnit() < ServiceMix.deviceShare(injected.channel) {
            deviceId = world.deviceId(of: customer, 1 + random.nextInt(below: customer.deviceCount))
        }
        return Payment(
            eventId: Identifier.make("e", seedTag, width: 4, then: Int(truncatingIfNeeded: index), width: 9),
            ts: baseTime(of: index), customerId: customer.id,
            merchantId: world.merchantId(for: service, unit: random.nextUnit()), service: service,
            amountCents: injected.amountCents ?? amount(service, customer, &random), currency: place.currency,
            channel: injected.channel, country: place.code,
            lat: injected.location.map { Self.sixDecimals($0.lat) }, lon: injected.location.map { Self.sixDecimals($0.lon) },
            deviceId: deviceId, beneficiaryId: injected.beneficiaryId
        )
    }

    /// Event time of `index` before any displacement: evenly spaced from `startMillis`.
    public func baseTime(of index: UInt64) -> Int64 {
        config.startMillis + Int64(Double(index) * millisPerEvent)
    }

    private enum Displacement { case none, outOfOrder, late }

    /// Decided by an event's first draw, so the generator can tell how any event was displaced in one draw.
    private func displacement(_ unit: Double) -> Displacement {
        unit < config.lateRatio ? .late : unit < config.lateRatio + config.outOfOrderRatio ? .outOfOrder : .none
    }

    /// The event time of `index`, possibly moved back.
    ///
    /// Every event before `index` has a time at most `baseTime(index - 1)`. Moving back by up to 4 s from
    /// `baseTime(index)` thus stays within 4 s of all of them. A late event is placed 90 s to 10 min before
    /// `baseTime(index - 1)`, and only when event `index - 1` was not displaced, so it lands that far behind
    /// an event already seen: late by any watermark with 5 s out-of-orderness and 60 s of allowed lateness.
    private func eventTime(_ index: UInt64, _ random: inout SplitMix64) -> Int64 {
        let base = baseTime(of: index)
        switch displacement(random.nextUnit()) {
        case .none:
            return base
        case .outOfOrder:
            let ts = base - Int64(random.nextInt(in: 1...4_000))
            return ts > 0 ? ts : base
        case .late:
            guard index > 0 else { return base }
            var previous = SplitMix64(seed: config.seed, stream: PaymentWorld.Stream.event.rawValue, index: index - 1)
            guard displacement(previous.nextUnit()) == .none else { return base }
            let ts = baseTime(of: index - 1) - Int64(random.nextInt(in: 90_000...600_000))
            return ts > 0 ? ts : base
        }
    }

    /// A log-normal amount around the service's median, scaled by the customer's spending level, with a
    /// heavier upper tail (2% of payments are several times larger), within 0.50 and 5,000.00.
    private func amount(_ service: Service, _ customer: PaymentWorld.Customer, _ random: inout SplitMix64) -> Int64 {
        var z = random.nextGaussian()
        if random.nextUnit() < 0.02 { z += 1 + 2 * random.nextUnit() }
        let logCents = ServiceMix.logMedianCents(service) + customer.spendLevel + 0.9 * z
        let step = ServiceMix.roundingStep(service)
        var cents = PortableMath.roundedToInt(PortableMath.exp(min(logCents, 14)))
        cents = (cents + step / 2) / step * step
        return min(500_000, max(max(50, step), cents))
    }

    private static func sixDecimals(_ value: Double) -> Double { Double(PortableMath.roundedToInt(value * 1e6)) / 1e6 }
}
