/// How synthetic payments split between services and channels, and what they typically cost.
///
/// The numbers are plausible for mobile-money-heavy markets, not measured; what matters is that the mix is
/// uneven and stable, so aggregates and fraud rules have realistic shapes to work on.
enum ServiceMix {
    /// Per-mille share of each service, in `Service` raw-value order: card payments are the most common.
    private static let serviceShares = [450, 180, 80, 70, 100, 120]

    /// A service; `pick` uniform in 0..<1000.
    static func service(pick: Int) -> Service {
        var rest = pick
        for rawValue in 0..<serviceShares.count {
            if rest < serviceShares[rawValue] { return Service(rawValue: UInt8(rawValue)) ?? .cardPayment }
            rest -= serviceShares[rawValue]
        }
        return .cardPayment
    }

    /// The channel a payment of `service` goes through; `unit` uniform in [0, 1).
    static func channel(for service: Service, unit u: Double) -> Channel {
        switch service {
        case .cardPayment: u < 0.55 ? .pos : u < 0.85 ? .web : .mobile
        case .transfer: u < 0.60 ? .mobile : u < 0.85 ? .web : u < 0.95 ? .api : .agent
        case .withdrawal: u < 0.60 ? .agent : u < 0.85 ? .pos : .mobile
        case .deposit: u < 0.70 ? .agent : u < 0.90 ? .mobile : .web
        case .billPayment: u < 0.50 ? .mobile : u < 0.85 ? .web : .api
        case .airtime: u < 0.80 ? .mobile : u < 0.90 ? .agent : .api
        }
    }

    /// Share of payments through `channel` that carry a location: a terminal or a phone knows where it is,
    /// a web checkout or an API call does not say. About 60% of all payments end up with one.
    static func locationShare(_ channel: Channel) -> Double {
        switch channel {
        case .pos: 1
        case .agent: 0.9
        case .mobile: 0.8
        case .web, .api: 0
        }
    }

    /// Share of payments through `channel` that name the customer's device.
    static func deviceShare(_ channel: Channel) -> Double {
        switch channel {
        case .mobile: 0.97
        case .web: 0.9
        case .api: 0.6
        case .agent: 0.5
        case .pos: 0.4
        }
    }

    /// Natural log of the median amount in cents; amounts are log-normal around it.
    static func logMedianCents(_ service: Service) -> Double {
        switch service {
        case .cardPayment: 7.496  // 18.00
        case .transfer: 8.700  // 60.00
        case .withdrawal: 8.517  // 50.00
        case .deposit: 8.987  // 80.00
        case .billPayment: 8.006  // 30.00
        case .airtime: 5.704  // 3.00
        }
    }

    /// Cash and airtime come in round amounts: the step, in cents, amounts of `service` are rounded to.
    static func roundingStep(_ service: Service) -> Int64 {
        switch service {
        case .withdrawal: 1000
        case .deposit, .airtime: 100
        case .cardPayment, .transfer, .billPayment: 1
        }
    }

    /// The merchants offering `service`: a contiguous block sized by the service's share (at least one, and
    /// shared between services when there are fewer merchants than services).
    static func merchantBlock(_ service: Service, merchantCount: Int) -> Range<Int> {
        var before = 0
        for rawValue in 0..<Int(service.rawValue) { before += serviceShares[rawValue] }
        let lower = min(merchantCount - 1, before * merchantCount / 1000)
        let upper = max(lower + 1, (before + serviceShares[Int(service.rawValue)]) * merchantCount / 1000)
        return lower..<upper
    }
}
