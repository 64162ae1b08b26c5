import KVStream

/// A customer's evaluated amounts, as exact integer moments: count, sum and sum of squares of the cents.
///
/// `AMOUNT_SPIKE` compares an amount with the mean plus 4 population standard deviations of the prior amounts. In
/// integers, with `n` prior amounts, sum `S` and sum of squares `Q`, `a > S/n + k * sqrt((n*Q - S^2) / n^2)` holds
/// exactly when `d = n*a - S > 0` and `d^2 > k^2 * (n*Q - S^2)`. Nothing is rounded, so the decision does not
/// depend on the order the amounts came in, and a referee doing the same arithmetic agrees on every boundary case
/// (`mean + 4 * stddev` exactly is not a spike). Amounts are below 10^18 cents (SPEC: `numeric(18,2)`), so `S`
/// fits 128 bits and `Q` and the products 256 bits.
struct AmountMoments: BinaryCodable, Equatable, Sendable {
    private(set) var count: Int64 = 0
    private(set) var sum: UInt128 = 0
    private(set) var squares = UInt256.zero

    mutating func add(_ cents: Int64) {
        let a = UInt128(cents)
        count += 1
        sum += a
        squares = squares.adding(UInt256(a * a))
    }

    /// `n*Q - S^2`: `n^2` times the population variance, never negative.
    var scaledVariance: UInt256 {
        squares.multiplied(by: UInt64(count)).subtracting(UInt256(product: sum, sum))
    }

    /// Whether `cents` is more than `sigmas` population standard deviations above the mean (false with no amounts).
    func exceeds(_ cents: Int64, sigmas: UInt64) -> Bool {
        guard count > 0 else { return false }
        let scaled = UInt128(count) * UInt128(cents)
        guard scaled > sum else { return false }
        let d = scaled - sum
        return UInt256(product: d, d) > scaledVariance.multiplied(by: sigmas * sigmas)
    }

    /// How many population standard deviations `cents` is from the mean, within `[-limit, limit]`; `±limit` when
    /// the prior amounts are all equal and `cents` differs, 0 with no amounts.
    func zScore(_ cents: Int64, limit: Double) -> Double {
        guard count > 0 else { return 0 }
        let scaled = UInt128(count) * UInt128(cents)
        let d = scaled >= sum ? Double(scaled - sum) : -Double(sum - scaled)
        let variance = scaledVariance
        guard variance != .zero else { return d > 0 ? limit : (d < 0 ? -limit : 0) }
        return min(limit, max(-limit, d / variance.doubleValue.squareRoot()))
    }

    func encode(to writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(count))
        Int128(bitPattern: sum).encode(to: &writer)
        Int128(bitPattern: squares.high).encode(to: &writer)
        Int128(bitPattern: squares.low).encode(to: &writer)
    }

    init() {}

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        count = Int64(try reader.readVarint())
        sum = UInt128(bitPattern: try Int128(from: &reader))
        let high = UInt128(bitPattern: try Int128(from: &reader))
        squares = UInt256(high: high, low: UInt128(bitPattern: try Int128(from: &reader)))
    }
}

/// An unsigned 256-bit integer with the few operations ``AmountMoments`` needs; callers keep results in range.
struct UInt256: Comparable, Sendable {
    var high: UInt128
    var low: UInt128

    static let zero = UInt256(high: 0, low: 0)

    init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    init(_ value: UInt128) { self.init(high: 0, low: value) }

    /// The full product of two 128-bit values.
    init(product a: UInt128, _ b: UInt128) {
        let (high, low) = a.multipliedFullWidth(by: b)
        self.init(high: high, low: low)
    }

    func adding(_ other: UInt256) -> UInt256 {
        let (low, carry) = low.addingReportingOverflow(other.low)
        return UInt256(high: high + other.high + (carry ? 1 : 0), low: low)
    }

    func subtracting(_ other: UInt256) -> UInt256 {
        let (low, borrow) = low.subtractingReportingOverflow(other.low)
        return UInt256(high: high - other.high - (borrow ? 1 : 0), low: low)
    }

    func multiplied(by factor: UInt64) -> UInt256 {
        let (carry, low) = low.multipliedFullWidth(by: UInt128(factor))
        return UInt256(high: high * UInt128(factor) + carry, low: low)
    }

    var doubleValue: Double { Double(high) * 0x1p128 + Double(low) }

    static func < (a: UInt256, b: UInt256) -> Bool { (a.high, a.low) < (b.high, b.low) }
}
