/// Numbers from outside (a script, a spec file, a payload, a frame, an events file, a server's
/// reply) reach Swift's fixed-width integers only through here: `Int(x)` and `UInt32(x)` trap
/// on NaN, on infinities and beyond their range, and a trap ends dkrun, or a worker, without a
/// word. A checked number that does not fit is bad input naming its field; a number that is
/// only shown, or was checked already, is clamped.
public enum Numbers {
    /// A number that its field cannot take: bad input, naming the field.
    public struct RangeError: CategorizedError, Equatable {
        public var exitStatus: ExitStatus { .badInput }

        /// Where the number was ("worker.yaml: spec.replicas").
        public let field: String
        public let problem: String
        public var description: String { "\(field): \(problem)" }
    }

    /// `value` as an Int in `range`: an integer, or a float with no fraction.
    public static func integer(_ value: Value, _ field: String, in range: ClosedRange<Int>) throws -> Int {
        let whole: Int? = switch value {
        case .int(let i): Int(exactly: i)
        case .float(let d): Int(exactly: d)
        default: nil
        }
        guard let whole, range.contains(whole) else {
            throw RangeError(field: field, problem: "an integer from \(range.lowerBound) to \(range.upperBound) expected, got \(shown(value))")
        }
        return whole
    }

    /// The most seconds a duration may be (about 31 years): more is a mistake, and anything
    /// below fits every integer type a wait is converted to (microseconds in an Int64).
    public static let maxSeconds = 1e9

    /// `value` as seconds: a finite number from 0 (above 0 when `positive`) to `maxSeconds`.
    public static func seconds(_ value: Value, _ field: String, positive: Bool = false) throws -> Double {
        guard let d = value.numberValue, d.isFinite, positive ? d > 0 : d >= 0, d <= maxSeconds else {
            throw RangeError(field: field, problem: "a number of seconds \(positive ? "above 0, at most" : "from 0 to") 1e9 expected, got \(shown(value))")
        }
        return d
    }

    /// `x` rounded toward zero into T's range: NaN gives 0, and beyond a bound gives that bound.
    /// For numbers that were checked already, or are only shown or waited for.
    public static func clamped<T: FixedWidthInteger>(_ x: Double, to _: T.Type = T.self) -> T {
        if x.isNaN { return 0 }
        // Double(T.max) may round up to 2^bits, so `>=` keeps the conversion below it in range.
        if x >= Double(T.max) { return T.max }
        if x <= Double(T.min) { return T.min }
        return T(x.rounded(.towardZero))
    }

    /// A value as a message shows it: 5, -0.5, inf, nan, 1e+300, or its type ("a string").
    static func shown(_ value: Value) -> String {
        switch value {
        case .int(let i): String(i)
        case .float(let d): "\(d)"
        default: value.typeNameWithArticle
        }
    }
}
