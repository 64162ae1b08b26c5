/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast, deterministic pseudo-random generator.
///
/// The generator derives a fresh one per event from `(seed, index)` with ``SplitMix64/init(seed:stream:index:)``
/// rather than drawing everything from one long stream: event `i` then depends on nothing drawn for other
/// events, so any event can be computed on its own, and a stage added later (fraud injection, invalid lines)
/// cannot shift the normal events by drawing a different number of values.
///
/// Only integer and basic IEEE operations are used, so sequences are identical on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator for item `index` of the named `stream` of `seed`: independent-looking for any two distinct
    /// triples.
    public init(seed: UInt64, stream: UInt64, index: UInt64) {
        state = Self.mix(Self.mix(seed ^ Self.mix(stream &+ 0x632B_E59B_D9B4_E019)) &+ index)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A uniform `Double` in [0, 1), with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0..<bound` (`bound` > 0), by multiply-shift: the bias is below 2^-32 for the
    /// bounds used here, and no rejection loop means a fixed number of draws per event.
    @inline(__always)
    public mutating func nextInt(below bound: Int) -> Int {
        Int(truncatingIfNeeded: UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// A uniform integer in `range`.
    @inline(__always)
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// A draw from an approximately standard normal distribution, from one 64-bit value.
    ///
    /// The sum of four 16-bit uniforms (Irwin-Hall), scaled to unit variance: bounded to about ±3.5, with
    /// no call into `log` or `cos`, whose results may differ between platforms' math libraries.
    @inline(__always)
    public mutating func nextGaussian() -> Double {
        let bits = next()
        let sum = (bits & 0xFFFF) + (bits >> 16 & 0xFFFF) + (bits >> 32 & 0xFFFF) + (bits >> 48)
        return (Double(sum) * 0x1.0p-16 - 2) * 1.7320508075688772
    }

    /// The SplitMix64 finalizer: a bijective mix of 64 bits.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Elementary functions computed with basic IEEE operations only, so the generator's output does not depend
/// on the platform's math library (nor need it linked: `Double.rounded()` calls libm's `round`, which a target
/// importing neither Foundation nor Glibc does not link on Linux).
enum PortableMath {
    /// `x` rounded half away from zero, for |x| < 2^62.
    @inline(__always)
    static func roundedToInt(_ x: Double) -> Int64 {
        x < 0 ? -Int64(-x + 0.5) : Int64(x + 0.5)
    }

    /// e^x for |x| up to about 700, within a few ulps.
    static func exp(_ x: Double) -> Double {
        let ln2 = 0.693_147_180_559_945_3
        let k = roundedToInt(x / ln2)
        let r = x - Double(k) * ln2  // |r| <= ln 2 / 2, where the series below converges fast.
        var sum = 1.0
        var term = 1.0
        for n in 1...13 {
            term *= r / Double(n)
            sum += term
        }
        return Double(sign: .plus, exponent: Int(k), significand: sum)
    }
}
