import Foundation
import KVStream

/// What `fraud-detection` remembers of one customer's evaluated payments: bounded, whatever the history.
///
/// - the moments of all amounts (`AMOUNT_SPIKE`), the countries seen (`NEW_COUNTRY`), the located payment latest in
///   event-time order (`IMPOSSIBLE_TRAVEL`);
/// - the times of the payments and the beneficiaries of the transfers that a later payment's window can still
///   reach (`VELOCITY`, `MANY_BENEFICIARIES`). A payment is evaluated at most 60 s (the allowed lateness) behind the
///   watermark, and every evaluated `ts` is at most the watermark, so a window of a payment still to come starts
///   after `newest - 60 s - window`; older entries are dropped.
struct CustomerProfile: StateValue, Equatable {
    static let velocityWindow: Int64 = 60_000
    static let velocityCount: Int64 = 5
    static let spikeMinimumPrior: Int64 = 10
    static let spikeSigmas: UInt64 = 4
    static let spikeMinimumCents: Int64 = 50_000
    static let travelMinimumKm = 500.0
    static let travelMaximumKmh = 900.0
    static let earthRadiusKm = 6371.0
    static let newCountryMinimumPrior: Int64 = 5
    static let newCountryMinimumCents: Int64 = 30_000
    static let beneficiaryWindow: Int64 = 600_000
    static let beneficiaryCount = 5
    /// How far behind the watermark a payment is still evaluated (SPEC section 3, allowed lateness).
    static let allowedLateness: Int64 = 60_000

    var amounts = AmountMoments()
    /// Countries of the evaluated payments, as two ASCII letters in 16 bits, sorted.
    var countries: [UInt16] = []
    var lastLocated: LocatedPayment?
    /// `ts` of the evaluated payments a later window can reach.
    var recentTimes: [Int64] = []
    /// Transfers with a beneficiary that a later window can reach.
    var recentTransfers: [RecentTransfer] = []
    /// The greatest `ts` evaluated.
    var newest: Int64 = .min

    /// Evaluates `payment` against the prior payments (those evaluated before it), then counts it among them.
    mutating func evaluate(_ payment: PendingPayment) -> FraudFeatures {
        var f = FraudFeatures()
        let ts = payment.ts
        let cents = payment.amountCents
        newest = max(newest, ts)
        recentTimes.removeAll { $0 < newest - Self.allowedLateness - Self.velocityWindow }
        recentTransfers.removeAll { $0.ts < newest - Self.allowedLateness - Self.beneficiaryWindow }

        // VELOCITY: this payment and the prior ones within [ts - 60 s, ts].
        f.velocityCount = 1 + Int64(recentTimes.count { $0 >= ts - Self.velocityWindow && $0 <= ts })
        if f.velocityCount >= Self.velocityCount { f.rules.insert(.velocity) }

        // AMOUNT_SPIKE: exact integer moments of the prior amounts.
        f.priorCount = amounts.count
        f.logAmount = log10(1 + Double(cents) / 100)
        if amounts.count >= Self.spikeMinimumPrior {
            f.amountZ = amounts.zScore(cents, limit: FraudFeatures.amountZLimit)
            if cents >= Self.spikeMinimumCents && amounts.exceeds(cents, sigmas: Self.spikeSigmas) {
                f.rules.insert(.amountSpike)
            }
        }

        // IMPOSSIBLE_TRAVEL: against the located payment latest in event-time order among the prior ones.
        if let lat = payment.lat, let lon = payment.lon {
            if let last = lastLocated {
                let km = Self.haversineKm(last.lat, last.lon, lat, lon)
                let millis = abs(ts - last.ts)
                let kmh = millis == 0 ? Double.infinity : km * 3_600_000 / Double(millis)
                f.travelKm = km
                f.travelKmh = km == 0 ? 0 : min(kmh, FraudFeatures.speedLimitKmh)
                if km > Self.travelMinimumKm && kmh > Self.travelMaximumKmh { f.rules.insert(.impossibleTravel) }
            }
            let located = LocatedPayment(ts: ts, eventId: payment.eventId, lat: lat, lon: lon)
            if lastLocated.map({ PendingPayment.precedes(($0.ts, $0.eventId), (ts, payment.eventId)) }) ?? true {
                lastLocated = located
            }
        }

        // NEW_COUNTRY: at least 5 prior payments, none from this country.
        let country = Self.countryCode(payment.country)
        let slot = countries.firstIndex { $0 >= country } ?? countries.endIndex
        let seen = slot < countries.endIndex && countries[slot] == country
        if !seen {
            if amounts.count >= Self.newCountryMinimumPrior && cents >= Self.newCountryMinimumCents {
                f.rules.insert(.newCountry)
            }
            countries.insert(country, at: slot)
        }

        // MANY_BENEFICIARIES: distinct beneficiaries of the transfers within [ts - 10 min, ts].
        if payment.service == .transfer {
            var distinct: Set<String> = []
            if let beneficiary = payment.beneficiaryId { distinct.insert(beneficiary) }
            for t in recentTransfers where t.ts >= ts - Self.beneficiaryWindow && t.ts <= ts {
                distinct.insert(t.beneficiary)
            }
            f.beneficiaries = Int64(distinct.count)
            if distinct.count >= Self.beneficiaryCount { f.rules.insert(.manyBeneficiaries) }
            if let beneficiary = payment.beneficiaryId {
                recentTransfers.append(RecentTransfer(ts: ts, beneficiary: beneficiary))
            }
        }

        amounts.add(cents)
        recentTimes.append(ts)
        return f
    }

    /// Great-circle distance on a sphere of radius 6371 km.
    static func haversineKm(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let radians = Double.pi / 180
        let dLat = (lat2 - lat1) * radians
        let dLon = (lon2 - lon1) * radians
        let sinLat = sin(dLat / 2)
        let sinLon = sin(dLon / 2)
        let a: Double = sinLat * sinLat + cos(lat1 * radians) * cos(lat2 * radians) * (sinLon * sinLon)
        return 2 * earthRadiusKm * asin(min(1, a.squareRoot()))
    }

    /// A country code (two ASCII letters, as validated) in 16 bits.
    static func countryCode(_ country: String) -> UInt16 {
        var code: UInt16 = 0
        for byte in country.utf8.prefix(2) { code = code << 8 | UInt16(byte) }
        return code
    }

    func encode(to writer: inout BinaryWriter) {
        amounts.encode(to: &writer)
        writer.writeVarint(UInt64(countries.count))
        for country in countries { writer.write(bigEndian: country) }
        lastLocated.encode(to: &writer)
        recentTimes.encode(to: &writer)
        recentTransfers.encode(to: &writer)
        newest.encode(to: &writer)
    }

    init() {}

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        amounts = try AmountMoments(from: &reader)
        let n = Int(try reader.readVarint())
        countries.reserveCapacity(n)
        for _ in 0..<n { countries.append(try reader.read(bigEndian: UInt16.self)) }
        lastLocated = try LocatedPayment?(from: &reader)
        recentTimes = try [Int64](from: &reader)
        recentTransfers = try [RecentTransfer](from: &reader)
        newest = try Int64(from: &reader)
    }
}

/// The customer's located payment latest in event-time order.
struct LocatedPayment: BinaryCodable, Equatable, Sendable {
    var ts: Int64
    var eventId: String
    var lat: Double
    var lon: Double

    init(ts: Int64, eventId: String, lat: Double, lon: Double) {
        self.ts = ts
        self.eventId = eventId
        self.lat = lat
        self.lon = lon
    }

    func encode(to writer: inout BinaryWriter) {
        ts.encode(to: &writer)
        eventId.encode(to: &writer)
        lat.encode(to: &writer)
        lon.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        ts = try Int64(from: &reader)
        eventId = try String(from: &reader)
        lat = try Double(from: &reader)
        lon = try Double(from: &reader)
    }
}

/// A transfer's time and beneficiary.
struct RecentTransfer: BinaryCodable, Equatable, Sendable {
    var ts: Int64
    var beneficiary: String

    init(ts: Int64, beneficiary: String) {
        self.ts = ts
        self.beneficiary = beneficiary
    }

    func encode(to writer: inout BinaryWriter) {
        ts.encode(to: &writer)
        beneficiary.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        ts = try Int64(from: &reader)
        beneficiary = try String(from: &reader)
    }
}
