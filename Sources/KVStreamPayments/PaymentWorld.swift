/// The population behind the synthetic payments: countries, customers and merchants.
///
/// Everything about a customer (home country and location, spending level, devices, beneficiaries) is derived
/// from the seed and the customer's number on demand, so the world costs no memory whatever its size, and a
/// later stage (fraud injection) can ask what is normal for a customer without generating its history.
struct PaymentWorld: Sendable {
    struct Country: Sendable {
        let code: String
        let currency: String
        /// A main city, around which the country's customers live.
        let lat: Double
        let lon: Double
        /// Relative share of customers living there.
        let weight: Int
    }

    /// What is normal for one customer.
    struct Customer {
        let number: Int
        let id: String
        let homeCountry: Int
        let homeLat: Double
        let homeLon: Double
        /// Added to the log of every amount: some customers spend much more than others.
        let spendLevel: Double
        let deviceCount: Int
        let beneficiaryCount: Int
    }

    static let countries: [Country] = [
        Country(code: "KE", currency: "KES", lat: -1.2921, lon: 36.8219, weight: 18),
        Country(code: "NG", currency: "NGN", lat: 6.5244, lon: 3.3792, weight: 18),
        Country(code: "GH", currency: "GHS", lat: 5.6037, lon: -0.1870, weight: 8),
        Country(code: "UG", currency: "UGX", lat: 0.3476, lon: 32.5825, weight: 6),
        Country(code: "TZ", currency: "TZS", lat: -6.7924, lon: 39.2083, weight: 6),
        Country(code: "ZA", currency: "ZAR", lat: -26.2041, lon: 28.0473, weight: 10),
        Country(code: "RW", currency: "RWF", lat: -1.9441, lon: 30.0619, weight: 3),
        Country(code: "SN", currency: "XOF", lat: 14.7167, lon: -17.4677, weight: 4),
        Country(code: "CI", currency: "XOF", lat: 5.3600, lon: -4.0083, weight: 5),
        Country(code: "CM", currency: "XAF", lat: 4.0511, lon: 9.7679, weight: 4),
        Country(code: "EG", currency: "EGP", lat: 30.0444, lon: 31.2357, weight: 7),
        Country(code: "MA", currency: "MAD", lat: 33.5731, lon: -7.5898, weight: 5),
        Country(code: "FR", currency: "EUR", lat: 48.8566, lon: 2.3522, weight: 2),
        Country(code: "GB", currency: "GBP", lat: 51.5074, lon: -0.1278, weight: 2),
        Country(code: "US", currency: "USD", lat: 40.7128, lon: -74.0060, weight: 2),
    ]

    static let totalCountryWeight = countries.reduce(0) { $0 + $1.weight }

    /// Streams of ``SplitMix64/init(seed:stream:index:)``, one per kind of thing drawn.
    enum Stream: UInt64 {
        case event = 1
        case customer, beneficiary, invalidLine, fraud
    }

    let seed: UInt64
    let customerCount: Int
    let merchantCount: Int
    /// Multiplier of a permutation of the customer numbers (coprime with their count), so the most active
    /// customers are spread over the range rather than being c000000, c000001...
    private let customerStride: Int

    init(seed: UInt64, customers: Int, merchants: Int) {
        self.seed = seed
        customerCount = max(1, customers)
        merchantCount = max(1, merchants)
        var stride = max(1, customerCount * 618 / 1000)
        while Self.gcd(stride, customerCount) != 1 { stride += 1 }
        customerStride = stride
    }

    /// A customer number; `unit` uniform in [0, 1).
    ///
    /// Three tiers of activity: 1% of the customers make 15% of the payments, the next 9% make 25%, the other
    /// 90% make 60%. The busiest thus pay about 15 times as often as the average customer. A power law would
    /// give the very first customers a share of all traffic (1/sqrt(n) for rank = n * u^2), far beyond any
    /// real person, and per-customer rules such as VELOCITY would fire on them all day.
    func customerNumber(unit: Double) -> Int {
        let busiest = max(1, customerCount / 100)
        let busy = max(1, customerCount * 9 / 100)
        let rank: Int
        if unit < 0.15 {
            rank = Int(unit / 0.15 * Double(busiest))
        } else if unit < 0.40 {
            rank = busiest + Int((unit - 0.15) / 0.25 * Double(busy))
        } else {
            rank = busiest + busy + Int((unit - 0.40) / 0.60 * Double(max(1, customerCount - busiest - busy)))
        }
        return min(customerCount - 1, rank) * customerStride % customerCount
    }

    func customer(_ number: Int) -> Customer {
        var random = SplitMix64(seed: seed, stream: Stream.customer.rawValue, index: UInt64(number))
        var pick = random.nextInt(below: Self.totalCountryWeight)
        var home = 0
        while pick >= Self.countries[home].weight {
            pick -= Self.countries[home].weight
            home += 1
        }
        let country = Self.countries[home]
        return Customer(
            number: number, id: Identifier.make("c", number, width: 6), homeCountry: home,
            homeLat: country.lat + 0.3 * random.nextGaussian(), homeLon: country.lon + 0.3 * random.nextGaussian(),
            spendLevel: 0.6 * random.nextGaussian(), deviceCount: 1 + random.nextInt(below: 3),
            beneficiaryCount: 1 + random.nextInt(below: 4)
        )
    }

    /// The `which`-th usual beneficiary of a customer: another customer, never the customer itself.
    func beneficiaryId(of customer: Customer, _ which: Int) -> String {
        guard customerCount > 1 else { return customer.id }
        let index = UInt64(customer.number) << 3 | UInt64(which & 7)
        var random = SplitMix64(seed: seed, stream: Stream.beneficiary.rawValue, index: index)
        let other = random.nextInt(below: customerCount - 1)
        return Identifier.make("c", other >= customer.number ? other + 1 : other, width: 6)
    }

    func deviceId(of customer: Customer, _ which: Int) -> String {
        Identifier.make("d", customer.number, width: 6, then: which, width: 1)
    }

    /// A merchant offering `service`, most popular first in rank; each service has its own block of merchants.
    func merchantId(for service: Service, unit: Double) -> String {
        let block = ServiceMix.merchantBlock(service, merchantCount: merchantCount)
        let rank = min(block.count - 1, Int(Double(block.count) * unit * unit * unit))
        return Identifier.make("m", block.lowerBound + rank, width: 4)
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}

/// Builds short ASCII identifiers (`c000123`, `d000123-2`) straight into a `String`: up to 15 bytes they are
/// stored inline, with no allocation.
enum Identifier {
    static func make(
        _ letter: Unicode.Scalar, _ number: Int, width: Int, then second: Int? = nil, width secondWidth: Int = 1
    ) -> String {
        let firstCount = max(width, digitCount(number))
        let secondCount = second.map { max(secondWidth, digitCount($0)) + 1 } ?? 0
        let total = 1 + firstCount + secondCount
        return String(unsafeUninitializedCapacity: total) { buffer in
            buffer[0] = UInt8(ascii: letter)
            write(number, into: buffer, from: 1, count: firstCount)
            if let second {
                buffer[1 + firstCount] = UInt8(ascii: "-")
                write(second, into: buffer, from: 2 + firstCount, count: secondCount - 1)
            }
            return total
        }
    }

    private static func digitCount(_ value: Int) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    private static func write(_ value: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, from start: Int, count: Int)
    {
        var rest = value
        for index in stride(from: start + count - 1, through: start, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }
}
