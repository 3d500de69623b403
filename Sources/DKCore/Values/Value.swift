/// A value that crosses Lua states, processes and machines: a task result, a constant, a
/// parameter, a configuration tree. Strings are byte strings, as in Lua.
///
/// Equality is exact: floats compare by bit pattern (so NaN equals itself and -0.0 differs
/// from 0.0), and the integer 1 differs from the float 1.0.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string([UInt8])
    case array([Value])
    case map([Value: Value])
    /// A string holding secrets by name (see `SecretText`): payloads and task states carry
    /// it in place of a secret's value.
    case secret(SecretText)

    /// A UTF-8 string value.
    public static func text(_ s: String) -> Value { .string(Array(s.utf8)) }

    /// The string, decoded as UTF-8 (invalid sequences replaced), if this is a string.
    public var stringValue: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The number as a Double, for an integer or a float.
    public var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [Value]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var mapValue: [Value: Value]? {
        if case .map(let m) = self { return m }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The entry under a string key of a map, or nil. Setting it on a value that is not a
    /// map makes the value a map of that one entry; setting nil removes the entry.
    public subscript(key: String) -> Value? {
        get {
            if case .map(let m) = self { return m[.text(key)] }
            return nil
        }
        set {
            var m = mapValue ?? [:]
            m[.text(key)] = newValue
            self = .map(m)
        }
    }

    /// The name of the value's type, as messages show it.
    public var typeName: String {
        switch self {
        case .null: return "nil"
        case .bool: return "boolean"
        case .int: return "integer"
        case .float: return "float"
        case .string: return "string"
        case .array: return "array"
        case .map: return "map"
        case .secret: return "secret"
        }
    }

    /// The entries of a map in canonical key order (see `Value.canonicallyPrecedes`).
    public var sortedEntries: [(key: Value, value: Value)] {
        guard case .map(let m) = self else { return [] }
        return m.sorted { $0.key.canonicallyPrecedes($1.key) }
    }
}

extension Value: Hashable {
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.float(let a), .float(let b)): return a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)): return a == b
        case (.secret(let a), .secret(let b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rank)
        switch self {
        case .null: break
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(i)
        case .float(let d): hasher.combine(d.bitPattern)
        case .string(let s): s.withUnsafeBytes { hasher.combine(bytes: $0) }
        case .array(let a): hasher.combine(a)
        case .map(let m): hasher.combine(m)
        case .secret(let s): hasher.combine(s)
        }
    }
}

extension Value {
    private var rank: Int {
        switch self {
        case .null: return 0
        case .bool: return 1
        case .int: return 2
        case .float: return 3
        case .string: return 4
        case .array: return 5
        case .map: return 6
        case .secret: return 7
        }
    }

    /// The total order used to write map keys, which makes encodings deterministic: by type
    /// (nil, boolean, integer, float, string, array, map, secret), then by value.
    public func canonicallyPrecedes(_ other: Value) -> Bool {
        if rank != other.rank { return rank < other.rank }
        switch (self, other) {
        case (.bool(let a), .bool(let b)): return !a && b
        case (.int(let a), .int(let b)): return a < b
        case (.float(let a), .float(let b)): return a.bitPattern < b.bitPattern
        case (.string(let a), .string(let b)): return a.lexicographicallyPrecedes(b)
        case (.array(let a), .array(let b)):
            for (x, y) in zip(a, b) where x != y { return x.canonicallyPrecedes(y) }
            return a.count < b.count
        case (.map(let a), .map(let b)):
            return Value.array(Value.map(a).sortedEntries.flatMap { [$0.key, $0.value] })
                .canonicallyPrecedes(.array(Value.map(b).sortedEntries.flatMap { [$0.key, $0.value] }))
        case (.secret(let a), .secret(let b)):
            return Value.array(a.parts.map(Value.string)).canonicallyPrecedes(.array(b.parts.map(Value.string)))
        default: return false
        }
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (Value, Value)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension Value {
    /// A map with text keys, from a Swift dictionary keyed by strings.
    public init(textKeys map: [String: Value]) {
        self = .map(Dictionary(uniqueKeysWithValues: map.map { (.text($0.key), $0.value) }))
    }

    /// A map of texts, from a Swift dictionary of strings.
    public init(texts map: [String: String]) {
        self = .map(Dictionary(uniqueKeysWithValues: map.map { (.text($0.key), .text($0.value)) }))
    }

    /// The entries whose key is text, by that text (others are left out; of two byte-string
    /// keys that decode to the same text, one wins).
    public var textKeyed: [String: Value] {
        var out: [String: Value] = [:]
        for (k, v) in mapValue ?? [:] { if let k = k.stringValue { out[k] = v } }
        return out
    }

    /// The entries whose key and value are both text (others are left out).
    public var textMap: [String: String] { textKeyed.compactMapValues(\.stringValue) }

    /// "an array", "a map", "nil": the type's name with its article, for messages.
    public var typeNameWithArticle: String {
        switch self {
        case .null: return "nil"
        case .array, .int: return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }
}
