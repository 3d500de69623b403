/// Secret values dkrun has handed out (`dk.secrets.get`, references resolved), replaced by
/// "****" in everything it prints or sends: log lines, messages, events, task states. Each
/// secret is looked for as it is and in the escaped forms dkrun's own encoders give it
/// (`forms`): a JSON string, a YAML double- or single-quoted scalar, a shell word in single
/// quotes. Masking a text after encoding misses what an encoder splits up, so values are
/// masked before they are encoded (`apply(_: Value)`).
public enum SecretMask {
    /// Secrets shorter than this are neither masked nor kept out of payloads: they would be
    /// found in too much unrelated text.
    public static let minimumLength = 3

    private static let monitor = Monitor()
    nonisolated(unsafe) private static var secrets = SecretSet()
    /// Every form of every secret, longest first (no partial leftovers).
    nonisolated(unsafe) private static var patterns: [[UInt8]] = []

    /// Masks `value` from now on; false when it is too short to (see `minimumLength`).
    @discardableResult
    public static func register(name: String, value: String) -> Bool {
        monitor.locked {
            guard secrets.insert(name: name, value: value) else { return false }
            for form in forms(of: value) where !patterns.contains(form) { patterns.append(form) }
            patterns.sort { $0.count > $1.count }
            return true
        }
    }

    /// The secrets registered so far, by name: what a Dask worker's results hold as
    /// references instead (`SecretSet.referencing`).
    public static var known: SecretSet { monitor.locked { secrets } }

    /// How many secrets are registered: what was masked before it grew may hold the new one.
    public static var registeredCount: Int { monitor.locked { secrets.entries.count } }

    /// The text with every form of every secret replaced by "****".
    public static func apply(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let masked = apply(bytes)
        return masked == bytes ? text : String(decoding: masked, as: UTF8.self)
    }

    /// The bytes with every form of every secret replaced by "****".
    public static func apply(_ bytes: [UInt8]) -> [UInt8] {
        let current = monitor.locked { patterns }
        var out = bytes
        _ = mask(&out, current)
        return out
    }

    /// The value with every string masked (map keys, and the text between a secret text's names, too).
    public static func apply(_ value: Value) -> Value {
        apply(value, current)
    }

    /// The patterns in force now: for masking many values at once (`apply(_:_:)`).
    static var current: [[UInt8]] { monitor.locked { patterns } }

    /// `apply(_: Value)` with the patterns taken once by the caller.
    static func apply(_ value: Value, _ current: [[UInt8]]) -> Value {
        guard !current.isEmpty else { return value }
        func masked(_ v: Value) -> Value {
            switch v {
            case .string(var bytes): return mask(&bytes, current) ? .string(bytes) : v
            case .secret(let s):
                let parts = s.parts.enumerated().map { i, part in
                    var bytes = part
                    if i % 2 == 0 { _ = mask(&bytes, current) }
                    return bytes
                }
                return .secret(SecretText(parts: parts)!)
            case .array(let a): return .array(a.map(masked))
            case .map(let m): return .map(Dictionary(m.map { (masked($0.key), masked($0.value)) }) { a, _ in a })
            default: return v
            }
        }
        return masked(value)
    }

    /// Replaces each pattern in `bytes`; whether anything was.
    private static func mask(_ bytes: inout [UInt8], _ patterns: [[UInt8]]) -> Bool {
        var changed = false
        for pattern in patterns {
            var out: [UInt8] = []
            var copied = 0  // bytes[..<copied] are in out
            var i = 0
            while i + pattern.count <= bytes.count {
                if bytes[i] == pattern[0] && bytes[i ..< i + pattern.count].elementsEqual(pattern) {
                    out += bytes[copied ..< i]
                    out += Array("****".utf8)
                    i += pattern.count
                    copied = i
                } else {
                    i += 1
                }
            }
            if copied > 0 {
                out += bytes[copied...]
                bytes = out
                changed = true
            }
        }
        return changed
    }

    /// The secret as it is, and as dkrun's encoders write it where that differs: the body of
    /// a JSON string (`"` `\` and control characters escaped), of a YAML double-quoted
    /// scalar (libyaml's escapes), of a YAML single-quoted one (`'` doubled), and a shell
    /// word in single quotes (`'` as `'\''`).
    static func forms(of value: String) -> [[UInt8]] {
        let json = String(JSON.encode(.text(value)).dropFirst().dropLast())
        let candidates = [value, json, yamlDoubleQuoted(value), value.replacingAll("'", with: "''"),
                          value.replacingAll("'", with: "'\\''")]
        var out: [[UInt8]] = []
        for c in candidates.map({ Array($0.utf8) }) where !out.contains(c) { out.append(c) }
        return out
    }

    /// The body of a double-quoted scalar as libyaml writes it (yaml_emitter_write_double_quoted).
    private static func yamlDoubleQuoted(_ value: String) -> String {
        let named: [UInt32: String] = [0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0a: "n", 0x0b: "v", 0x0c: "f",
                                       0x0d: "r", 0x1b: "e", 0x22: "\"", 0x5c: "\\", 0x85: "N", 0x2028: "L", 0x2029: "P"]
        var out = ""
        for scalar in value.unicodeScalars {
            let v = scalar.value
            let printable = v == 0x0a || (0x20 ... 0x7e).contains(v) || v == 0x85 || (0xa0 ... 0xd7ff).contains(v)
                || ((0xe000 ... 0xfffd).contains(v) && v != 0xfeff) || (0x10000 ... 0x10ffff).contains(v)
            let isBreak = v == 0x0a || v == 0x0d || v == 0x85 || v == 0x2028 || v == 0x2029
            if printable && !isBreak && v != 0x22 && v != 0x5c {
                out.unicodeScalars.append(scalar)
            } else if let letter = named[v] {
                out += "\\" + letter
            } else {
                let (prefix, digits) = v <= 0xff ? ("x", 2) : v <= 0xffff ? ("u", 4) : ("U", 8)
                let hex = String(v, radix: 16, uppercase: true)
                out += "\\" + prefix + String(repeating: "0", count: digits - hex.count) + hex
            }
        }
        return out
    }
}

extension TaskState {
    /// The state as it may leave this process (a Dask worker's reply): its message and
    /// traceback masked, the secrets this process knows held by name in its result (a
    /// downstream task's worker resolves them), and any other form of them masked.
    public func maskingSecrets() -> TaskState {
        var state = self
        state.message = message.map(SecretMask.apply)
        state.traceback = traceback.map(SecretMask.apply)
        state.result = SecretMask.apply(SecretMask.known.referencing(result))
        state.children = children.map { $0.maskingSecrets() }
        return state
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

/// Where `dk.secrets.get(name)` finds a secret, in order: the environment variable
/// DKRUN_SECRET_<NAME> (upper case, other characters as _), the YAML map in the file
/// DKRUN_SECRETS_FILE, and a file named after the secret in DKRUN_SECRETS_DIR (default
/// /var/run/secrets/dkrun: a mounted Kubernetes Secret, one file per key).
public enum SecretStore {
    public struct NotFound: CategorizedError {
        public var exitStatus: ExitStatus { .badInput }

        public let description: String
    }

    public static func variableName(_ name: String) -> String {
        "DKRUN_SECRET_" + String(name.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// The default of DKRUN_SECRETS_DIR: where a run on Kubernetes mounts its secrets.
    public static let defaultDirectory = "/var/run/secrets/dkrun"

    /// The secret's value, registered with `SecretMask`.
    public static func lookup(_ name: String) throws -> String {
        let value = try find(name)
        SecretMask.register(name: name, value: value)
        return value
    }

    private static func find(_ name: String) throws -> String {
        var looked = ["$" + variableName(name)]
        if let v = Files.environment(variableName(name)) { return v }
        if let file = Files.environment("DKRUN_SECRETS_FILE") {
            looked.append("secrets file \(file)")
            let text = try Files.read(file, limit: .credentials)
            let map = try YAML.load(String(decoding: text, as: UTF8.self), source: file)
            if let v = map[name] {
                guard let s = v.stringValue ?? v.intValue.map(String.init) else {
                    throw NotFound(description: "secret '\(name)' in \(file) is \(v.typeNameWithArticle), not a string")
                }
                return s
            }
        }
        let dir = Files.environment("DKRUN_SECRETS_DIR") ?? defaultDirectory
        looked.append("directory \(dir)")
        if !name.contains("/"), Files.kind(dir + "/" + name) == "file" {
            return String(decoding: try Files.read(dir + "/" + name, limit: .credentials), as: UTF8.self)
        }
        throw NotFound(description: "secret '\(name)' not found (looked in \(looked.joined(separator: ", ")))")
    }
}
