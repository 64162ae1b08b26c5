/// The fields of the payment event (SPEC section 2), in the order the SPEC lists them.
///
/// That order is also the order in which the decoder checks the rules, so that a record breaking several
/// rules always gets the same reason, and the order in which the encoder writes the fields.
enum PaymentField: Int, CaseIterable {
    case eventId, ts, customerId, merchantId, service, amount, currency, channel, country, lat, lon, deviceId,
        beneficiaryId

    static let count = 13

    /// The JSON key.
    var name: StaticString {
        switch self {
        case .eventId: "event_id"
        case .ts: "ts"
        case .customerId: "customer_id"
        case .merchantId: "merchant_id"
        case .service: "service"
        case .amount: "amount"
        case .currency: "currency"
        case .channel: "channel"
        case .country: "country"
        case .lat: "lat"
        case .lon: "lon"
        case .deviceId: "device_id"
        case .beneficiaryId: "beneficiary_id"
        }
    }

    var nameString: String { name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }

    /// The field a key names, nil for keys the payment does not know (which are ignored).
    init?(key: UnsafeRawBufferPointer) {
        guard key.count >= 2, let candidate = Self.candidate(count: key.count, first: key[0], second: key[1]),
            candidate.name.equals(key)
        else { return nil }
        self = candidate
    }

    /// The field named by the unescaped key at `start..<start + count` of `input`.
    ///
    /// This runs for every key of every record, so where 16 bytes can be read from the key on (nearly always:
    /// a value and a `}` follow it) the key is compared as two words with its candidate's (``keys``).
    @inline(__always)
    static func find(in input: UnsafeRawBufferPointer, start: Int, count: Int) -> PaymentField? {
        guard start + 16 <= input.count else {
            return PaymentField(key: UnsafeRawBufferPointer(rebasing: input[start..<start + count]))
        }
        guard let candidate = candidate(count: count, first: input[start], second: input[start + 1]) else {
            return nil
        }
        return keys[candidate.rawValue].matches(input, at: start) ? candidate : nil
    }

    /// The only field a key of this length and first two bytes could name (at least 2 bytes long).
    @inline(__always)
    private static func candidate(count: Int, first: UInt8, second: UInt8) -> PaymentField? {
        switch count {
        case 2: .ts
        case 3: second == UInt8(ascii: "a") ? .lat : .lon
        case 6: .amount
        case 7: second == UInt8(ascii: "e") ? .service : second == UInt8(ascii: "h") ? .channel : .country
        case 8: first == UInt8(ascii: "e") ? .eventId : .currency
        case 9: .deviceId
        case 11: first == UInt8(ascii: "c") ? .customerId : .merchantId
        case 14: .beneficiaryId
        default: nil
        }
    }

    /// Each field's name, and its key as written in JSON (quotes included), by raw value.
    static let keys: [PackedKey] = allCases.map { PackedKey($0.name, quoted: false) }
    static let quotedKeys: [PackedKey] = allCases.map { PackedKey($0.name, quoted: true) }
}

extension Service {
    /// The service a raw string spells, nil for anything else.
    init?(bytes: UnsafeRawBufferPointer) {
        // The length and the first byte leave one candidate, compared once.
        let candidate: Service
        switch bytes.count {
        case 7: candidate = bytes[0] == UInt8(ascii: "d") ? .deposit : .airtime
        case 8: candidate = .transfer
        case 10: candidate = .withdrawal
        case 12: candidate = bytes[0] == UInt8(ascii: "c") ? .cardPayment : .billPayment
        default: return nil
        }
        guard candidate.spelling.equals(bytes) else { return nil }
        self = candidate
    }

    var spelling: StaticString {
        switch self {
        case .cardPayment: "card_payment"
        case .transfer: "transfer"
        case .withdrawal: "withdrawal"
        case .deposit: "deposit"
        case .billPayment: "bill_payment"
        case .airtime: "airtime"
        }
    }
}

extension Channel {
    /// The channel a raw string spells, nil for anything else.
    init?(bytes: UnsafeRawBufferPointer) {
        let candidate: Channel
        switch bytes.count {
        case 3: candidate = bytes[0] == UInt8(ascii: "w") ? .web : bytes[0] == UInt8(ascii: "p") ? .pos : .api
        case 5: candidate = .agent
        case 6: candidate = .mobile
        default: return nil
        }
        guard candidate.spelling.equals(bytes) else { return nil }
        self = candidate
    }

    var spelling: StaticString {
        switch self {
        case .web: "web"
        case .mobile: "mobile"
        case .pos: "pos"
        case .api: "api"
        case .agent: "agent"
        }
    }
}

extension StaticString {
    @inline(__always)
    func equals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard utf8CodeUnitCount == bytes.count else { return false }
        for index in 0..<bytes.count where utf8Start[index] != bytes[index] { return false }
        return true
    }
}

/// Up to 16 bytes as two little-endian words, zero past the bytes: how keys are compared (``PackedKey``) and short
/// strings are made (``SmallASCII``), in two loads.
enum PackedWords {
    /// Masks that keep the first `count` bytes (at most 16) of two words.
    @inline(__always)
    static func masks(count: Int) -> (low: UInt64, high: UInt64) {
        let low: UInt64 = count >= 8 ? ~0 : (1 << (UInt64(count) * 8)) - 1
        let high: UInt64 = count > 8 ? (count == 16 ? ~0 : (1 << (UInt64(count - 8) * 8)) - 1) : 0
        return (low, high)
    }

    /// The `count` bytes (at most 16) at `start` of `input`: two loads, masked, where 16 bytes can be read from
    /// `start`; one byte at a time near the end of the input.
    @inline(__always)
    static func load(_ input: UnsafeRawBufferPointer, at start: Int, count: Int) -> (low: UInt64, high: UInt64) {
        guard start + 16 <= input.count else {
            var words: (low: UInt64, high: UInt64) = (0, 0)
            for index in 0..<count {
                let byte = UInt64(input[start + index])
                if index < 8 { words.low |= byte << (UInt64(index) * 8) } else { words.high |= byte << (UInt64(index - 8) * 8) }
            }
            return words
        }
        let mask = masks(count: count)
        return (input.loadUnaligned(fromByteOffset: start, as: UInt64.self) & mask.low,
                input.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self) & mask.high)
    }
}

/// A key of at most 16 bytes (with or without its quotes) as two masked little-endian words, to be compared with
/// the input in two loads.
struct PackedKey {
    let low: UInt64
    let high: UInt64
    let lowMask: UInt64
    let highMask: UInt64
    let count: Int

    init(_ name: StaticString, quoted: Bool) {
        var bytes: [UInt8] = quoted ? [UInt8(ascii: "\"")] : []
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        if quoted { bytes.append(UInt8(ascii: "\"")) }
        precondition(bytes.count <= 16, "a key longer than 16 bytes")
        count = bytes.count
        (low, high) = bytes.withUnsafeBytes { [count] in PackedWords.load($0, at: 0, count: count) }
        (lowMask, highMask) = PackedWords.masks(count: count)
    }

    /// Whether `input` holds exactly this key at `position`, followed by anything; false also when fewer than 16
    /// bytes remain there (the caller then compares the key the general way).
    @inline(__always)
    func matches(_ input: UnsafeRawBufferPointer, at position: Int) -> Bool {
        guard position + 16 <= input.count else { return false }
        let first = input.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        let second = input.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)
        return first & lowMask == low && second & highMask == high
    }

    /// ``matches(_:at:)`` where fewer than 16 bytes remain at `position`, reading them one by one.
    func matchesNearEnd(_ input: UnsafeRawBufferPointer, at position: Int) -> Bool {
        guard position + 16 > input.count && position + count <= input.count else { return false }
        let words = PackedWords.load(input, at: position, count: count)
        return words.low == low && words.high == high
    }
}
