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
            let text = String(decoding: try Files.read(path), as: UTF8.self)
            let document: Value
            do { document = try YAML.load(text, source: path) } catch { throw ConfigError("kubeconfig \(error)") }
            guard document.isNull || document.mapValue != nil else { throw ConfigError("kubeconfig \(path): not a kubeconfig (a YAML mapping)") }
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
        let ctx = contextEntry["context"] ?? .map([:])
        guard let clusterName = ctx["cluster"]?.stringValue, let (clusterEntry, clusterFile) = named("clusters", clusterName) else {
            throw ConfigError("cluster \"\(ctx["cluster"]?.stringValue ?? "")\" of context \"\(contextName)\" (\(contextFile)) is not in kubeconfig \(searched)")
        }
        let cluster = clusterEntry["cluster"] ?? .map([:])
        guard let server = cluster["server"]?.stringValue, !server.isEmpty else {
            throw ConfigError("cluster \"\(clusterName)\" in \(clusterFile) has no server")
        }
        var config = KubeConfig(server: server, namespace: namespace ?? ctx["namespace"]?.stringValue ?? "default",
                                caData: nil, insecure: cluster["insecure-skip-tls-verify"]?.boolValue ?? false,
                                credentials: .none, origin: "context \(contextName) in \(contextFile)")
        config.caData = try material(cluster, data: "certificate-authority-data", file: "certificate-authority",
                                     owner: "cluster \"\(clusterName)\"", in: clusterFile)
        if let userName = ctx["user"]?.stringValue, !userName.isEmpty {
            guard let (userEntry, userFile) = named("users", userName) else {
                throw ConfigError("user \"\(userName)\" of context \"\(contextName)\" (\(contextFile)) is not in kubeconfig \(searched)")
            }
            config.credentials = try credentials(userEntry["user"] ?? .map([:]), user: userName, in: userFile)
        }
        return config
    }

    /// Inside a pod: the service account's token (re-read, it rotates), CA and namespace.
    public static func inCluster(environment: [String: String], namespace override: String? = nil,
                                 directory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw ConfigError("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let namespace = (try? Files.read(directory + "/namespace")).map { String(decoding: $0, as: UTF8.self) } ?? "default"
        return KubeConfig(server: "https://\(host.contains(":") ? "[\(host)]" : host):\(port)",
                          namespace: override ?? namespace.trimmed,
                          caData: try Files.read(directory + "/ca.crt"), insecure: false,
                          credentials: .tokenFile(directory + "/token"), origin: "the pod's service account")
    }

    private static func credentials(_ user: Value, user name: String, in file: String) throws -> Credentials {
        let owner = "user \"\(name)\""
        if let token = user["token"]?.stringValue, !token.isEmpty { return .token(token) }
        if let path = user["tokenFile"]?.stringValue { return .tokenFile(Files.join(Files.directory(of: file), path)) }
        if let cert = try material(user, data: "client-certificate-data", file: "client-certificate", owner: owner, in: file) {
            guard let key = try material(user, data: "client-key-data", file: "client-key", owner: owner, in: file) else {
                throw ConfigError("\(owner) in \(file) has a client certificate but no client-key")
            }
            return .clientCertificate(certificate: cert, key: key)
        }
        if let exec = user["exec"] { return .exec(try ExecPlugin(exec, user: name, in: file)) }
        if let u = user["username"]?.stringValue, let p = user["password"]?.stringValue { return .basic(user: u, password: p) }
        if user["auth-provider"] != nil {
            throw ConfigError("\(owner) in \(file) uses an auth-provider, which kubectl dropped; use an exec plugin")
        }
        return .none
    }

    /// PEM from an inline base64 field or a file (relative to the kubeconfig), or nil.
    private static func material(_ entry: Value, data: String, file: String, owner: String, in path: String) throws -> [UInt8]? {
        if let encoded = entry[data]?.stringValue {
            guard let bytes = Base64.decode(encoded) else { throw ConfigError("\(owner) in \(path): \(data) is not base64") }
            return bytes
        }
        if let name = entry[file]?.stringValue {
            let full = Files.join(Files.directory(of: path), name)
            do { return try Files.read(full) } catch { throw ConfigError("\(owner) in \(path): \(file) \(full): \(error)") }
        }
        return nil
    }
}
