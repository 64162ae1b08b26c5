import KVStream
import KVStreamPayments

/// A payment as `fraud-detection` keeps it while it waits for the watermark: every field but the customer id,
/// which is the key.
struct PendingPayment: StateValue, Equatable {
    var eventId: String
    var ts: Int64
    var merchantId: String
    var service: Service
    var amountCents: Int64
    var currency: String
    var channel: Channel
    var country: String
    var lat: Double?
    var lon: Double?
    var deviceId: String?
    var beneficiaryId: String?

    init(_ p: Payment) {
        eventId = p.eventId
        ts = p.ts
        merchantId = p.merchantId
        service = p.service
        amountCents = p.amountCents
        currency = p.currency
        channel = p.channel
        country = p.country
        lat = p.lat
        lon = p.lon
        deviceId = p.deviceId
        beneficiaryId = p.beneficiaryId
    }

    /// Event-time order (SPEC section 3): by `ts`, then `event_id`.
    static func precedes(_ a: PendingPayment, _ b: PendingPayment) -> Bool { (a.ts, a.eventId) < (b.ts, b.eventId) }

    static func precedes(_ a: (ts: Int64, eventId: String), _ b: (ts: Int64, eventId: String)) -> Bool {
        (a.ts, a.eventId) < (b.ts, b.eventId)
    }

    func encode(to writer: inout BinaryWriter) {
        eventId.encode(to: &writer)
        ts.encode(to: &writer)
        merchantId.encode(to: &writer)
        service.encode(to: &writer)
        amountCents.encode(to: &writer)
        currency.encode(to: &writer)
        channel.encode(to: &writer)
        country.encode(to: &writer)
        lat.encode(to: &writer)
        lon.encode(to: &writer)
        deviceId.encode(to: &writer)
        beneficiaryId.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        eventId = try String(from: &reader)
        ts = try Int64(from: &reader)
        merchantId = try String(from: &reader)
        service = try Service(from: &reader)
        amountCents = try Int64(from: &reader)
        currency = try String(from: &reader)
        channel = try Channel(from: &reader)
        country = try String(from: &reader)
        lat = try Double?(from: &reader)
        lon = try Double?(from: &reader)
        deviceId = try String?(from: &reader)
        beneficiaryId = try String?(from: &reader)
    }
}
