/// Secret values dkrun has handed out (`dk.secrets.get`), replaced by "****" in every line
/// it prints: logs, task messages, events.
public enum SecretMask {
    private static let monitor = Monitor()
    nonisolated(unsafe) private static var secrets: [String] = []

    /// Masks `value` from now on (values shorter than 3 characters would mask too much).
    public static func register(_ value: String) {
        guard value.count >= 3 else { return }
        monitor.locked {
            if !secrets.contains(value) {
                secrets.append(value)
                secrets.sort { $0.count > $1.count }  // longer first: no partial leftovers
            }
        }
    }

    public static func apply(_ text: String) -> String {
        let current = monitor.locked { secrets }
        guard !current.isEmpty else { return text }
        var out = text
        for s in current where out.contains(s) {
            out = out.split(separator: s, omittingEmptySubsequences: false).joined(separator: "****")
        }
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

    /// The secret's value, registered with `SecretMask`.
    public static func lookup(_ name: String) throws -> String {
        let value = try find(name)
        SecretMask.register(value)
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
        let dir = Files.environment("DKRUN_SECRETS_DIR") ?? "/var/run/secrets/dkrun"
        looked.append("directory \(dir)")
        if !name.contains("/"), Files.kind(dir + "/" + name) == "file" {
            return String(decoding: try Files.read(dir + "/" + name, limit: .credentials), as: UTF8.self)
        }
        throw NotFound(description: "secret '\(name)' not found (looked in \(looked.joined(separator: ", ")))")
    }
}
