/// Small JSON and time formatting helpers that append UTF-8 bytes without going through Foundation.
public enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public static func appendString(_ value: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                buffer.append(hex[Int(byte >> 4)])
                buffer.append(hex[Int(byte & 0xf)])
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    public static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 {
            buffer.append(UInt8(ascii: "-"))
            appendUnsigned(value.magnitude, to: &buffer)
        } else {
            appendUnsigned(UInt64(value), to: &buffer)
        }
    }

    static func appendUnsigned(_ value: UInt64, minimumDigits: Int = 1, to buffer: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0
            while count < minimumDigits {
                d[count] = UInt8(ascii: "0")
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { buffer.append(d[i]) }
        }
    }

    /// `units * 10^-scale` with exactly `scale` decimals: (1234, 2) -> `12.34`, (-5, 2) -> `-0.05`.
    public static func appendDecimal(_ units: Int128, scale: Int, to buffer: inout [UInt8]) {
        if units < 0 { buffer.append(UInt8(ascii: "-")) }
        let magnitude = units.magnitude
        var divisor: UInt128 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = magnitude / divisor
        if whole <= UInt128(UInt64.max) {
            appendUnsigned(UInt64(whole), to: &buffer)
        } else {
            buffer.append(contentsOf: String(whole).utf8)
        }
        if scale > 0 {
            buffer.append(UInt8(ascii: "."))
            appendUnsigned(UInt64(magnitude % divisor), minimumDigits: scale, to: &buffer)
        }
    }
}

/// Converts epoch times to civil (proleptic Gregorian, UTC) dates without Foundation's calendars.
public enum CivilTime {
    /// Year, month, day of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public static func civil(fromEpochDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Floor division of epoch milliseconds into whole days.
    public static func epochDay(ofMillis millis: Int64) -> Int64 {
        millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
    }

    public static func appendDate(epochDays: Int64, to buffer: inout [UInt8]) {
        let (y, m, d) = civil(fromEpochDays: epochDays)
        JSONText.appendUnsigned(UInt64(max(0, y)), minimumDigits: 4, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        JSONText.appendUnsigned(UInt64(m), minimumDigits: 2, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        JSONText.appendUnsigned(UInt64(d), minimumDigits: 2, to: &buffer)
    }

    /// `2026-01-01T00:01:00.000Z`.
    public static func appendISO8601(epochMillis: Int64, to buffer: inout [UInt8]) {
        let day = epochDay(ofMillis: epochMillis)
        let msOfDay = epochMillis - day * 86_400_000
        appendDate(epochDays: day, to: &buffer)
        buffer.append(UInt8(ascii: "T"))
        JSONText.appendUnsigned(UInt64(msOfDay / 3_600_000), minimumDigits: 2, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        JSONText.appendUnsigned(UInt64(msOfDay / 60_000 % 60), minimumDigits: 2, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        JSONText.appendUnsigned(UInt64(msOfDay / 1_000 % 60), minimumDigits: 2, to: &buffer)
        buffer.append(UInt8(ascii: "."))
        JSONText.appendUnsigned(UInt64(msOfDay % 1_000), minimumDigits: 3, to: &buffer)
        buffer.append(UInt8(ascii: "Z"))
    }

    public static func iso8601(epochMillis: Int64) -> String {
        var buffer: [UInt8] = []
        appendISO8601(epochMillis: epochMillis, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
