import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// How to reach a cluster and who to be there, read as kubectl reads it: the files of
/// KUBECONFIG merged (the first file to name a cluster, user or context wins, as does the
/// first current-context), the current context or `--context`, `--namespace`; or, in a pod,
/// the service account's token, CA and namespace.
public struct KubeConfig: Sendable {
    public var server: String
    public var namespace: String
    /// The CA bundle to trust (PEM), nil for the system's.
    public var caData: [UInt8]?
    public var insecure: Bool
    public var credentials: Credentials
    /// Where the settings came from, for messages ("context kind-dev in /root/.kube/config").
    public var origin: String

    public enum Credentials: Sendable {
        case none
        case token(String)
        /// A token file re-read on every request, so projected tokens can rotate.
        case tokenFile(String)
        case clientCertificate(certificate: [UInt8], key: [UInt8])
        case exec(ExecPlugin)
        case basic(user: String, password: String)
    }

    public init(server: String, namespace: String, caData: [UInt8]?, insecure: Bool, credentials: Credentials,
                origin: String) {
        self.server = server
        self.namespace = namespace
        self.caData = caData
        self.insecure = insecure
        self.credentials = credentials
        self.origin = origin
    }

    public struct ConfigError: CategorizedError {
        public var exitStatus: ExitStatus { .badInput }

        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// - Parameters:
    ///   - environment: KUBECONFIG and HOME come from here (tests pass their own).
    ///   - context: `--context`; nil for the current context.
    ///   - namespace: `--namespace`; nil for the context's (or "default").
    public static func load(environment: [String: String], context: String? = nil,
                            namespace: String? = nil) throws -> KubeConfig {
        let paths: [String]
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            paths = list.split(separator: ":").map(String.init)
        } else {
            paths = [(environment["HOME"] ?? "/root") + "/.kube/config"]
        }
        var files: [(path: String, document: Value)] = []
        for path in paths {
            guard Files.isReadableFile(path) else {
                if environment["KUBECONFIG"] != nil && Files.kind(path) != nil { throw ConfigError("kubeconfig \(path): cannot be read") }
                continue  // kubectl skips missing files of KUBECONFIG
            }
            let text = String(decoding: try Files.read(path, limit: .credentials), as: UTF8.self)
            let document: Value
            do { document = try YAML.load(text, source: path) } catch { throw ConfigError("kubeconfig \(error)") }
            guard document.isNull || document.mapValue != nil else { throw ConfigError("kubeconfig \(path): not a kubeconfig (a YAML mapping)") }
            try checkShape(document, path)
            files.append((path, document))
        }
        guard !files.isEmpty else {
            // As client-go does: without a kubeconfig, a pod uses its service account.
            if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment, namespace: namespace) }
            throw ConfigError("no kubeconfig: \(paths.joined(separator: ":")) does not exist (set KUBECONFIG, or run in a pod)")
        }
        func named(_ section: String, _ name: String) -> (entry: Value, file: String)? {
            for (path, document) in files {
                for item in document[section]?.arrayValue ?? [] where item["name"]?.stringValue == name {
                    return (item, path)
                }
            }
            return nil
        }
        let searched = files.map(\.path).joined(separator: ":")
        guard let contextName = context ?? files.lazy.compactMap({ $0.document["current-context"]?.stringValue }).first(where: { !$0.isEmpty }) else {
            throw ConfigError("kubeconfig \(searched) sets no current-context (use --context)")
        }
        guard let (contextEntry, contextFile) = named("contexts", contextName) else {
            throw ConfigError("context \"\(contextName)\" is not in kubeconfig \(searched)")
        }
        let ctx = try Entry(contextEntry, "context \"\(contextName)\" in \(contextFile)").entry("context")
        guard let clusterName = try ctx.string("cluster"), let (clusterEntry, clusterFile) = named("clusters", clusterName) else {
            throw ConfigError("cluster \"\(try ctx.string("cluster") ?? "")\" of context \"\(contextName)\" (\(contextFile)) is not in kubeconfig \(searched)")
        }
        let cluster = try Entry(clusterEntry, "cluster \"\(clusterName)\" in \(clusterFile)").entry("cluster")
        guard let server = try cluster.string("server"), !server.isEmpty else {
            throw ConfigError("cluster \"\(clusterName)\" in \(clusterFile) has no server")
        }
        try checkServer(server, cluster.owner)
        let chosenNamespace = try namespace ?? ctx.string("namespace") ?? "default"
        try checkNamespace(chosenNamespace, namespace == nil ? ctx.owner : "--namespace")
        var config = KubeConfig(server: server, namespace: chosenNamespace,
                                caData: nil, insecure: try cluster.bool("insecure-skip-tls-verify") ?? false,
                                credentials: .none, origin: "context \(contextName) in \(contextFile)")
        config.caData = try material(cluster, data: "certificate-authority-data", file: "certificate-authority", in: clusterFile)
        if let userName = try ctx.string("user"), !userName.isEmpty {
            guard let (userEntry, userFile) = named("users", userName) else {
                throw ConfigError("user \"\(userName)\" of context \"\(contextName)\" (\(contextFile)) is not in kubeconfig \(searched)")
            }
            config.credentials = try credentials(try Entry(userEntry, "user \"\(userName)\" in \(userFile)").entry("user"),
                                                 user: userName, in: userFile)
        }
        return config
    }

    /// Inside a pod: the service account's token (re-read, it rotates), CA and namespace.
    public static func inCluster(environment: [String: String], namespace override: String? = nil,
                                 directory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw ConfigError("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let namespace = (try? Files.read(directory + "/namespace", limit: .credentials)).map { String(decoding: $0, as: UTF8.self) } ?? "default"
        return KubeConfig(server: "https://\(host.contains(":") ? "[\(host)]" : host):\(port)",
                          namespace: override ?? namespace.trimmed,
                          caData: try Files.read(directory + "/ca.crt", limit: .credentials), insecure: false,
                          credentials: .tokenFile(directory + "/token"), origin: "the pod's service account")
    }

    private static func credentials(_ user: Entry, user name: String, in file: String) throws -> Credentials {
        if let token = try user.string("token"), !token.isEmpty {
            // It goes into a header line as it is.
            guard !token.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw ConfigError("\(user.owner): token: it holds a control character (a line break?)")
            }
            return .token(token)
        }
        if let path = try user.string("tokenFile") { return .tokenFile(Files.join(Files.directory(of: file), path)) }
        if let cert = try material(user, data: "client-certificate-data", file: "client-certificate", in: file) {
            guard let key = try material(user, data: "client-key-data", file: "client-key", in: file) else {
                throw ConfigError("\(user.owner) has a client certificate but no client-key")
            }
            return .clientCertificate(certificate: cert, key: key)
        }
        if user.value["exec"] != nil { return .exec(try ExecPlugin(try user.entry("exec").value, user: name, in: file)) }
        if let u = try user.string("username"), let p = try user.string("password") { return .basic(user: u, password: p) }
        if user.value["auth-provider"] != nil {
            throw ConfigError("\(user.owner) uses an auth-provider, which kubectl dropped; use an exec plugin")
        }
        return .none
    }

    /// PEM from an inline base64 field or a file (relative to the kubeconfig), or nil.
    private static func material(_ entry: Entry, data: String, file: String, in path: String) throws -> [UInt8]? {
        let bytes: [UInt8]
        if let encoded = try entry.string(data) {
            guard let decoded = Base64.decode(encoded) else { throw ConfigError("\(entry.owner): \(data) is not base64") }
            bytes = decoded
        } else if let name = try entry.string(file) {
            let full = Files.join(Files.directory(of: path), name)
            do { bytes = try Files.read(full, limit: .credentials) } catch { throw ConfigError("\(entry.owner): \(file) \(full): \(error)") }
        } else {
            return nil
        }
        // libcurl takes PEM only; anything else would fail every request, as a network error.
        guard bytes.starts(with: Array("-----BEGIN ".utf8)) || String(decoding: bytes, as: UTF8.self).contains("\n-----BEGIN ") else {
            throw ConfigError("\(entry.owner): \(entry.value[data] != nil ? data : file) is not PEM (no -----BEGIN line)")
        }
        return bytes
    }

    /// What kubectl reads of each file, in the types it reads: a field of another type is an
    /// error naming it, not a field left out.
    private static func checkShape(_ document: Value, _ path: String) throws {
        if let c = document["current-context"], c.stringValue == nil, !c.isNull {
            throw ConfigError("kubeconfig \(path): current-context: a string expected, got \(c.typeNameWithArticle)")
        }
        for section in ["clusters", "contexts", "users"] {
            guard let list = document[section], !list.isNull else { continue }
            guard let items = list.arrayValue else {
                throw ConfigError("kubeconfig \(path): \(section): a list expected, got \(list.typeNameWithArticle)")
            }
            for (i, item) in items.enumerated() where item.mapValue == nil || item["name"]?.stringValue == nil {
                throw ConfigError("kubeconfig \(path): \(section)[\(i)]: a mapping with a name expected, got \(item.typeNameWithArticle)")
            }
        }
    }

    /// An API server's URL: http or https, a host, and a port from 1 to 65535 if any.
    private static func checkServer(_ server: String, _ owner: String) throws {
        let bad = { (why: String) in ConfigError("\(owner): server \"\(server)\" \(why)") }
        guard let scheme = server.firstRange(of: "://"), ["https", "http"].contains(server[..<scheme.lowerBound].lowercased()) else {
            throw bad("is not an http(s):// URL")
        }
        let authority = server[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@"), !authority.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) else {
            throw bad("holds spaces, control characters or user information")
        }
        let bracket = authority.lastIndex(of: "]")
        if let colon = authority.lastIndex(of: ":"), bracket.map({ colon > $0 }) ?? true {
            let port = authority[authority.index(after: colon)...]
            guard authority[..<colon].count > 0, let n = Int(port), (1 ... 65535).contains(n) else {
                throw bad("has no host, or a port that is not from 1 to 65535")
            }
        } else if authority.isEmpty {
            throw bad("has no host")
        }
    }

    /// A namespace's name: a DNS label (it goes into every request's path).
    private static func checkNamespace(_ namespace: String, _ owner: String) throws {
        guard namespace.wholeMatch(of: #/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/#) != nil else {
            throw ConfigError("\(owner): namespace \"\(namespace)\" is not a namespace name (lower-case letters, digits and '-', at most 63)")
        }
    }

    /// One mapping of a kubeconfig (a cluster, a context, a user) and who it is, for messages.
    private struct Entry {
        let value: Value
        let owner: String

        init(_ value: Value, _ owner: String) { self.value = value; self.owner = owner }

        /// The mapping under `key` (absent or null: an empty one).
        func entry(_ key: String) throws -> Entry {
            guard let v = value[key], !v.isNull else { return Entry(.map([:]), owner) }
            guard v.mapValue != nil else { throw ConfigError("\(owner): \(key): a mapping expected, got \(v.typeNameWithArticle)") }
            return Entry(v, owner)
        }

        func string(_ key: String) throws -> String? {
            guard let v = value[key], !v.isNull else { return nil }
            guard let s = v.stringValue else { throw ConfigError("\(owner): \(key): a string expected, got \(v.typeNameWithArticle)") }
            return s
        }

        func bool(_ key: String) throws -> Bool? {
            guard let v = value[key], !v.isNull else { return nil }
            guard let b = v.boolValue else { throw ConfigError("\(owner): \(key): true or false expected, got \(v.typeNameWithArticle)") }
            return b
        }
    }
}
