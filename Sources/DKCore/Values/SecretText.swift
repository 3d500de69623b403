/// A string with secrets in it, each kept by its name rather than its value: what a payload
/// holds in place of a secret the script read at its top level, and what a task state from
/// a Dask worker holds in place of a secret in a result (`Value.secret`). It is resolved,
/// each name looked up again (`SecretStore`), where a task runs; everywhere else (JSON,
/// YAML, `inspect`) it shows as its text with `<secret NAME>` in each secret's place.
public struct SecretText: Sendable, Hashable {
    /// Literal bytes and secret names, alternating, first and last literal (maybe empty):
    /// `["postgres://app:", "db_password", "@db/app"]`.
    public let parts: [[UInt8]]

    /// nil unless `parts` alternate as they must (an odd count, at least one name, names not empty).
    public init?(parts: [[UInt8]]) {
        guard parts.count % 2 == 1, parts.count >= 3, stride(from: 1, to: parts.count, by: 2).allSatisfy({ !parts[$0].isEmpty }) else { return nil }
        self.parts = parts
    }

    /// The secrets' names, in order.
    public var names: [String] {
        stride(from: 1, to: parts.count, by: 2).map { String(decoding: parts[$0], as: UTF8.self) }
    }

    /// As output shows it: `postgres://app:<secret db_password>@db/app`.
    public var description: String {
        parts.enumerated().map { i, part in
            let text = String(decoding: part, as: UTF8.self)
            return i % 2 == 0 ? text : "<secret \(text)>"
        }.joined()
    }

    /// The string with each secret's value in its place.
    public func resolved(_ value: (String) throws -> String) rethrows -> [UInt8] {
        var out: [UInt8] = []
        for (i, part) in parts.enumerated() {
            out += i % 2 == 0 ? part : Array(try value(String(decoding: part, as: UTF8.self)).utf8)
        }
        return out
    }
}

/// Secrets by name and value, and the values that hold them as references.
public struct SecretSet: Sendable {
    /// Longest value first, so that a secret inside a longer one is not found in its place.
    public private(set) var entries: [(name: String, value: [UInt8])] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    /// Adds a secret; false (and nothing added) for one shorter than `SecretMask.minimumLength`,
    /// which would be found in too much unrelated text.
    @discardableResult
    public mutating func insert(name: String, value: String) -> Bool {
        guard value.count >= SecretMask.minimumLength else { return false }
        let bytes = Array(value.utf8)
        if !entries.contains(where: { $0.name == name && $0.value == bytes }) {
            entries.append((name, bytes))
            entries.sort { $0.value.count > $1.value.count }
        }
        return true
    }

    /// `value` with every string holding a secret's value made a `SecretText` (map keys too).
    public func referencing(_ value: Value) -> Value {
        guard !entries.isEmpty else { return value }
        switch value {
        case .string(let bytes): return reference(bytes).map(Value.secret) ?? value
        case .array(let a): return .array(a.map(referencing))
        case .map(let m): return .map(Dictionary(m.map { (referencing($0.key), referencing($0.value)) }) { a, _ in a })
        default: return value
        }
    }

    private func reference(_ bytes: [UInt8]) -> SecretText? {
        var parts: [[UInt8]] = []
        var literal: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if let found = entries.first(where: { bytes.count - i >= $0.value.count && bytes[i ..< i + $0.value.count].elementsEqual($0.value) }) {
                parts += [literal, Array(found.name.utf8)]
                literal = []
                i += found.value.count
            } else {
                literal.append(bytes[i])
                i += 1
            }
        }
        return parts.isEmpty ? nil : SecretText(parts: parts + [literal])
    }
}

extension Value {
    /// The secret text, if this is one.
    public var secretValue: SecretText? {
        if case .secret(let s) = self { return s }
        return nil
    }

    /// The first place under `path` where this value holds a secret, and its names.
    public func firstSecret(path: String) -> (path: String, names: [String])? {
        switch self {
        case .secret(let s): return (path, s.names)
        case .array(let a):
            for (i, v) in a.enumerated() { if let found = v.firstSecret(path: "\(path)[\(i + 1)]") { return found } }
        case .map:
            for (k, v) in sortedEntries {
                let place = k.stringValue.map { "\(path).\($0)" } ?? "\(path)[\(JSON.encode(k))]"
                if let found = k.firstSecret(path: place) ?? v.firstSecret(path: place) { return found }
            }
        default: break
        }
        return nil
    }

    /// This value with every secret text resolved (`SecretStore.lookup`), as a task receives it.
    /// - Throws: `SecretStore.NotFound` for a secret missing here.
    public func resolvingSecrets() throws -> Value {
        switch self {
        case .secret(let s): return .string(try s.resolved(SecretStore.lookup))
        case .array(let a): return .array(try a.map { try $0.resolvingSecrets() })
        case .map(let m):
            var out: [Value: Value] = [:]
            for (k, v) in m { out[try k.resolvingSecrets()] = try v.resolvingSecrets() }
            return .map(out)
        default: return self
        }
    }
}
