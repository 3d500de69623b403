#if canImport(Glibc)
import Glibc
#endif

/// Time without Foundation (its load time counts against dkrun's cold start).
public enum Clock {
    /// Seconds on a clock that never jumps, for durations and deadlines.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Seconds since the Unix epoch.
    public static func wall() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Local time of day as HH:MM:SS.mmm.
    public static func timeOfDay(_ t: Double) -> String {
        var seconds: time_t = Numbers.clamped(t)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let millis: Int = Numbers.clamped((t - Double(seconds)) * 1000)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)"
    }

    /// UTC time as ISO 8601 with milliseconds, for machine-readable events.
    public static func iso8601(_ t: Double) -> String {
        var bytes: [UInt8] = []
        writeISO8601(t, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `iso8601` appended to `out`: the run history writes one per event, so the text is
    /// made on the stack and appended at once.
    public static func writeISO8601(_ t: Double, into out: inout [UInt8]) {
        var seconds: time_t = Numbers.clamped(t)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis: Int = Numbers.clamped((t - Double(seconds)) * 1000)
        // 7 numbers of at most 20 characters (a sign and 19 digits), each with its separator.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 7 * 21) { text in
            var end = 0
            // v zero-padded to n digits, as String(v) when it has more (or is negative).
            func digits(_ v: Int, _ n: Int, then separator: Unicode.Scalar) {
                if v < 0 {
                    text[end] = UInt8(ascii: "-")
                    end += 1
                }
                var rest = v.magnitude, count = 1
                while rest >= 10 { rest /= 10; count += 1 }
                if v >= 0 { count = max(count, n) }
                rest = v.magnitude
                for i in stride(from: end + count - 1, through: end, by: -1) {
                    text[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                text[end + count] = UInt8(ascii: separator)
                end += count + 1
            }
            digits(Int(parts.tm_year) + 1900, 4, then: "-")
            digits(Int(parts.tm_mon) + 1, 2, then: "-")
            digits(Int(parts.tm_mday), 2, then: "T")
            digits(Int(parts.tm_hour), 2, then: ":")
            digits(Int(parts.tm_min), 2, then: ":")
            digits(Int(parts.tm_sec), 2, then: ".")
            digits(millis, 3, then: "Z")
            out.append(contentsOf: UnsafeMutableBufferPointer(rebasing: text[..<end]))
        }
    }

    /// Seconds since the epoch of an RFC 3339 UTC time ("2026-11-22T00:40:00Z", fractions
    /// allowed), or nil.
    public static func parseISO8601(_ text: String) -> Double? {
        let digits = text.utf8.map { Int($0) - 48 }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= digits.count else { return nil }
            var n = 0
            for d in digits[from ..< from + count] { guard (0 ... 9).contains(d) else { return nil }; n = n * 10 + d }
            return n
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), text.hasSuffix("Z") else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var fraction = 0.0
        if digits.count > 20, text.utf8[text.utf8.index(text.utf8.startIndex, offsetBy: 19)] == UInt8(ascii: ".") {
            var scale = 0.1
            for d in digits[20...] where (0 ... 9).contains(d) {
                fraction += Double(d) * scale
                scale /= 10
            }
        }
        return Double(timegm(&parts)) + fraction
    }

    /// A duration for people: "850 µs", "12.3 ms", "4.21 s" (durations come in events files
    /// and replies too, so any Double, NaN and infinities included, is shown).
    public static func describe(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "\(seconds) s" }
        if seconds < 1e-3 { return "\(Numbers.clamped(seconds * 1e6, to: Int.self)) µs" }
        if seconds < 1 { return "\(Double(Numbers.clamped(seconds * 1e4, to: Int.self)) / 10) ms" }
        return seconds < 1e15 ? "\(Double(Numbers.clamped(seconds * 100, to: Int.self)) / 100) s" : "\(seconds) s"
    }
}
