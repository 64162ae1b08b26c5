/// One payment event (SPEC section 2), validated.
///
/// Money is held as integer cents so that sums are exact and do not depend on the order in which a parallel
/// job adds them up; inputs with more than two decimals are rounded half away from zero, as `numeric(18,2)` does.
public struct Payment: Sendable, Hashable {
    public var eventId: String
    /// Event time, epoch milliseconds UTC.
    public var ts: Int64
    public var customerId: String
    public var merchantId: String
    public var service: Service
    public var amountCents: Int64
    public var currency: String
    public var channel: Channel
    public var country: String
    public var lat: Double?
    public var lon: Double?
    public var deviceId: String?
    public var beneficiaryId: String?

    public init(
        eventId: String, ts: Int64, customerId: String, merchantId: String, service: Service, amountCents: Int64,
        currency: String, channel: Channel, country: String, lat: Double? = nil, lon: Double? = nil,
        deviceId: String? = nil, beneficiaryId: String? = nil
    ) {
        self.eventId = eventId
        self.ts = ts
        self.customerId = customerId
        self.merchantId = merchantId
        self.service = service
        self.amountCents = amountCents
        self.currency = currency
        self.channel = channel
        self.country = country
        self.lat = lat
        self.lon = lon
        self.deviceId = deviceId
        self.beneficiaryId = beneficiaryId
    }

    /// The amount in currency units (for models and display; sums use ``amountCents``).
    public var amount: Double { Double(amountCents) / 100 }
}

public enum Service: UInt8, Sendable, Hashable, CaseIterable {
    case cardPayment, transfer, withdrawal, deposit, billPayment, airtime

    public var name: String {
        switch self {
        case .cardPayment: "card_payment"
        case .transfer: "transfer"
        case .withdrawal: "withdrawal"
        case .deposit: "deposit"
        case .billPayment: "bill_payment"
        case .airtime: "airtime"
        }
    }

    public init?(name: String) {
        guard let match = Service.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

public enum Channel: UInt8, Sendable, Hashable, CaseIterable {
    case web, mobile, pos, api, agent

    public var name: String {
        switch self {
        case .web: "web"
        case .mobile: "mobile"
        case .pos: "pos"
        case .api: "api"
        case .agent: "agent"
        }
    }

    public init?(name: String) {
        guard let match = Channel.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
