import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// A kubeconfig `exec` credential plugin (client.authentication.k8s.io), as EKS's and GKE's
/// are: run with KUBERNETES_EXEC_INFO, it prints an ExecCredential holding a token or a client
/// certificate. The credential is kept until its expirationTimestamp (or until the server
/// answers 401, see `invalidate`).
public final class ExecPlugin: @unchecked Sendable {
    let command: String
    let arguments: [String]
    let environment: [(String, String)]
    let apiVersion: String
    let installHint: String?
    let owner: String
    private let monitor = Monitor()
    private var cached: (credential: Credential, expires: Double?)?

    public enum Credential: Sendable, Equatable {
        case token(String)
        case clientCertificate(certificate: [UInt8], key: [UInt8])
    }

    init(_ exec: Value, user: String, in file: String) throws {
        owner = "the exec plugin of user \"\(user)\" (\(file))"
        guard let command = exec["command"]?.stringValue, !command.isEmpty else {
            throw KubeConfig.ConfigError("\(owner) has no command")
        }
        self.command = command.contains("/") ? Files.join(Files.directory(of: file), command) : command
        let owner = owner
        func list(_ key: String) throws -> [Value] {
            guard let v = exec[key], !v.isNull else { return [] }
            guard let items = v.arrayValue else { throw KubeConfig.ConfigError("\(owner): \(key): a list expected, got \(v.typeNameWithArticle)") }
            return items
        }
        arguments = try list("args").enumerated().map { i, a in
            guard let word = a.stringValue else { throw KubeConfig.ConfigError("\(owner): args[\(i)]: a string expected, got \(a.typeNameWithArticle)") }
            return word
        }
        environment = try list("env").enumerated().map { i, e in
            guard let name = e["name"]?.stringValue, let value = e["value"]?.stringValue else {
                throw KubeConfig.ConfigError("\(owner): env[\(i)]: a mapping of a name and a value (strings) expected")
            }
            return (name, value)
        }
        apiVersion = exec["apiVersion"]?.stringValue ?? "client.authentication.k8s.io/v1"
        installHint = exec["installHint"]?.stringValue
    }

    /// The current credential, running the plugin when there is none or it has expired.
    public func credential() throws -> Credential {
        try monitor.locked {
            if let (credential, expires) = cached, expires.map({ Clock.wall() < $0 - 10 }) ?? true { return credential }
            let fresh = try run()
            cached = fresh
            return fresh.credential
        }
    }

    /// Forgets the credential (the server refused it), so the next request runs the plugin.
    public func invalidate() { monitor.locked { cached = nil } }

    private func run() throws -> (credential: Credential, expires: Double?) {
        let info = JSON.encode(["apiVersion": .text(apiVersion), "kind": "ExecCredential",
                                "spec": ["interactive": false]])
        let env = Files.environmentEntries + environment.map { "\($0.0)=\($0.1)" } + ["KUBERNETES_EXEC_INFO=\(info)"]
        let result: Subprocess.Result
        do {
            result = try Subprocess.run([command] + arguments, environment: env, timeout: 60)
        } catch {
            throw KubeConfig.ConfigError("\(owner): cannot run \(command): \(error)\(installHint.map { " (\($0))" } ?? "")")
        }
        let stderr = String(decoding: result.stderr, as: UTF8.self).trimmed
        guard result.status == 0 else {
            throw KubeConfig.ConfigError("\(owner): \(command) exited with \(result.status)\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        let output: Value
        do { output = try JSON.decode(result.stdout) } catch {
            throw KubeConfig.ConfigError("\(owner): \(command) did not print an ExecCredential: \(error)")
        }
        guard output["kind"]?.stringValue == "ExecCredential", let status = output["status"] else {
            throw KubeConfig.ConfigError("\(owner): \(command) printed no ExecCredential with a status")
        }
        let expires = status["expirationTimestamp"]?.stringValue.flatMap(Clock.parseISO8601)
        if let token = status["token"]?.stringValue { return (.token(token), expires) }
        if let cert = status["clientCertificateData"]?.stringValue, let key = status["clientKeyData"]?.stringValue {
            return (.clientCertificate(certificate: Array(cert.utf8), key: Array(key.utf8)), expires)
        }
        throw KubeConfig.ConfigError("\(owner): the ExecCredential holds neither a token nor a client certificate")
    }
}
