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

    /// The entries whose key is text, by that text (others are left out). Decoders and the Lua
    /// bridge refuse keys that are not UTF-8, so each text key is its own text; of two keys
    /// that Swift compares equal (the same text in two Unicode normal forms), one wins.
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

// MARK: - Limits: how deep a value nests, and where in it a problem is

extension Value {
    /// The deepest a value may nest arrays and maps (a value's own array or map is level 1):
    /// every JSON or YAML document dkrun reads, and every value a Lua script hands it (a
    /// task's result, a constant, a configuration field). Deeper input is an error naming
    /// where it is (`ValueError.tooDeep`), never a stack overflow. docs/limits.md.
    public static let maxDepth = 200

    /// The deepest dkrun's own messages may nest: payloads, task states, worker requests and
    /// event lines hold values of up to `maxDepth` levels inside a few levels of their own.
    /// Reading MessagePack (only ever dkrun's messages) and pushing into Lua allow this much,
    /// so that every value within `maxDepth` crosses processes and Lua states.
    public static let maxMessageDepth = maxDepth + 16

    /// Whether a string's bytes are UTF-8 text: map keys must be (`ValueError.keyNotUTF8`).
    @inlinable
    public static func isUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
    }
}

/// Where a part of a value is: the keys and indices (from 1, as in Lua) from the value's root.
public struct ValuePath: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case index(Int)
        case key(Value)
        /// Inside a map key that is itself an array or a map.
        case inKey
    }

    public var steps: [Step] = []
    public init() {}

    /// The path after `root`: `result[2].name`, `x["a b"]`. A long (deep) path shows its
    /// first and last steps around "...".
    public func text(root: String) -> String {
        func step(_ s: Step) -> String {
            switch s {
            case .index(let i): return "[\(i)]"
            case .key(let k):
                guard case .string(let name) = k, ValuePath.isName(name) else { return "[\(JSON.encode(k))]" }
                return "." + String(decoding: name, as: UTF8.self)
            case .inKey: return "[<key>]"
            }
        }
        var text = root + steps.prefix(steps.count <= 12 ? 12 : 8).map(step).joined()
        if steps.count > 12 {
            let last = steps.suffix(2).map(step).joined()
            text += "..." + (last.hasPrefix(".") ? String(last.dropFirst()) : last)
        }
        if text.isEmpty { return "the value" }
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }

    /// A key written `.name`: a Lua name (letters, digits, underscores, not starting with a digit).
    private static func isName(_ bytes: [UInt8]) -> Bool {
        func letter(_ b: UInt8) -> Bool { (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || b == 0x5f }
        guard let first = bytes.first, letter(first) else { return false }
        return bytes.allSatisfy { letter($0) || (0x30...0x39).contains($0) }
    }
}

/// A problem at a place inside a value, thrown where a decoder or the Lua bridge finds it:
/// each enclosing array or map adds its step to the path as the error unwinds (`at`), so a
/// path costs nothing until there is a problem. Each reader turns it into its own error,
/// with the position in its input (`JSON.DecodeError`, `YAML.LoadError`, ...).
public struct ValueError: Error, Sendable {
    public var path = ValuePath()
    /// What is wrong, said of the place: "is nested more than 200 levels deep (the limit)".
    public let problem: String

    public init(_ problem: String) { self.problem = problem }

    /// The message, with the path under `root`: "result[1][1]...[1] is nested more than ...".
    public func message(root: String) -> String { "\(path.text(root: root)) \(problem)" }

    /// An array or map inside `limit` others already (`Value.maxDepth`, `Value.maxMessageDepth`).
    public static func tooDeep(limit: Int) -> ValueError {
        ValueError("is nested more than \(limit) levels deep (the limit)")
    }

    public static let keyNotUTF8 = ValueError("has a key that is not UTF-8 text")

    /// `body`'s value, the part of a value at `step`; its `ValueError` gets the step in its path.
    @inlinable
    public static func at<T>(_ step: @autoclosure () -> ValuePath.Step, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as ValueError {
            error.path.steps.insert(step(), at: 0)
            throw error
        }
    }
}
