import DKCore

/// Random values for property tests, from a seeded generator so failures reproduce.
public struct ValueGenerator {
    public var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// - Parameter luaSafe: only values that survive a trip through Lua exactly: no nil
    ///   inside containers (a Lua table cannot hold one), no empty maps (an empty table reads
    ///   back as an empty array), no NaN map keys.
    public mutating func value(depth: Int = 0, luaSafe: Bool = false) -> Value {
        let kinds = depth > 3 ? 5 : 7
        switch Int(rng.next() % UInt64(kinds)) {
        case 0: return luaSafe && depth > 0 ? .bool(true) : .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .int(integer())
        case 3: return .float(float())
        case 4: return .string((0 ..< Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 5: return .array((0 ..< Int(rng.next() % 6)).map { _ in value(depth: depth + 1, luaSafe: luaSafe) })
        default:
            var m: [Value: Value] = [:]
            for _ in 0 ..< Int(rng.next() % 6) + (luaSafe ? 1 : 0) {
                let key: Value = rng.next() % 2 == 0 ? .text("k\(rng.next() % 1000)") : .int(integer())
                m[key] = value(depth: depth + 1, luaSafe: luaSafe)
            }
            // A map whose keys happen to be 1...n reads back from Lua as an array.
            if luaSafe, m.keys.allSatisfy({ $0.intValue != nil }) { m[.text("tag")] = .bool(true) }
            return .map(m)
        }
    }

    private mutating func integer() -> Int64 {
        let edges: [Int64] = [0, 1, -1, 31, 32, -32, -33, 127, 128, 255, 256, 65535, 65536, -129, -32768, -32769,
                              Int64(Int32.max), Int64(Int32.max) + 1, Int64(Int32.min), Int64(Int32.min) - 1, .max, .min]
        return rng.next() % 3 == 0 ? edges[Int(rng.next() % UInt64(edges.count))] : Int64(bitPattern: rng.next())
    }

    private mutating func float() -> Double {
        let specials: [Double] = [0.0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1, 1e300]
        return rng.next() % 3 == 0 ? specials[Int(rng.next() % UInt64(specials.count))] : Double(bitPattern: rng.next() & 0x7fef_ffff_ffff_ffff)
    }
}

public struct SplitMix64 {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
