import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The project's Kubernetes test API server (tools/kubesim) for one test, on 127.0.0.1 over
/// TLS (its certificate is its own CA), killed when this goes.
public final class Kubesim {
    public let directory: String
    public let server: String
    /// The server's certificate, which is also the CA to trust.
    public let certificate: String
    /// Where `pods/log` reads pod logs from (`<namespace>/<pod>/<container>.log`), as a
    /// kubelet would write them.
    public var logDirectory: String { directory + "/logs" }
    private let pid: pid_t

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    /// - Parameters:
    ///   - token: the bearer token it requires (nil: no authentication).
    ///   - clientCA: the CA whose client certificates it accepts too.
    public init(token: String? = nil, clientCA: String? = nil, arguments: [String] = []) throws {
        directory = "/tmp/dks-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: directory, name: "server")
        certificate = cert
        let portFile = directory + "/port"
        var argv = [venvBin + "python", repoRoot + "/tools/kubesim/apiserver.py", "--port", "0",
                    "--port-file", portFile, "--tls-cert", cert, "--tls-key", key] + arguments
        if let token { argv += ["--token", token] }
        if let clientCA { argv += ["--client-ca", clientCA] }
        pid = try startServer(argv, log: directory + "/apiserver.log", environment: ["KUBESIM_LOG_DIR": directory + "/logs"])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: portFile) {
            guard Date() < deadline else {
                kill(-pid, SIGKILL)
                throw StartError(description: "kubesim did not start: " + ((try? String(contentsOfFile: directory + "/apiserver.log", encoding: .utf8)) ?? ""))
            }
            usleep(50_000)
        }
        server = "https://127.0.0.1:" + (try String(contentsOfFile: portFile, encoding: .utf8))
    }

    deinit {
        kill(-pid, SIGKILL)
        _ = try? Subprocess.wait(pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Makes the next `count` requests under `path` fail: with `status` (and Retry-After), or
    /// with the connection dropped.
    public func fail(path: String, count: Int, status: Int = 503, retryAfter: Int? = nil, drop: Bool = false) throws {
        var spec: [String: Any] = ["path": path, "count": count, "status": status, "drop": drop]
        if let retryAfter { spec["retryAfter"] = retryAfter }
        let body = try JSONSerialization.data(withJSONObject: spec)
        let r = try Subprocess.run(["curl", "-sk", "-X", "POST", "--data-binary", "@-", server + "/kubesim/faults"],
                                   input: Array(body), timeout: 10)
        guard r.status == 0 else { throw StartError(description: "fault hook: \(String(decoding: r.stderr, as: UTF8.self))") }
    }
}
