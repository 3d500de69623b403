import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private container registry for one test: tools/kubesim/registry.py (Debian's
/// `docker-registry`) over TLS from a CA the test makes, with one htpasswd user and its storage
/// in `dir`. On 127.0.0.1 by default; a test cluster starts one on its node's address, where
/// its kubelet pulls from (`KubesimCluster.registry()`). `stop()` (or deinit) kills it.
public final class RegistryTestServer {
    public let dir: TempDir
    /// HOST:PORT, as image names and auth files name the registry.
    public let address: String
    /// The CA that signed the registry's certificate.
    public let ca: (cert: String, key: String)
    /// A directory holding the CA's certificate alone, for `podman --cert-dir` (which would
    /// take a key there for a client certificate's).
    public let certDirectory: String
    public let username = "flows"
    public let password = "pw-" + UUID().uuidString.prefix(8)
    private var pid: pid_t = 0

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    /// - Parameters:
    ///   - host: the IP address it listens on, which its certificate and `address` name.
    ///   - ca: the CA that signs its certificate (nil: one made for it), such as the one a test
    ///     cluster's kubelet trusts (`KubesimCluster(registryCA:)`).
    ///   - via: a command prefix that runs it where `host` is reachable (a test cluster's
    ///     `cluster.py exec DIR --`).
    public init(host: String = "127.0.0.1", ca: (cert: String, key: String)? = nil, via: [String] = []) throws {
        dir = try TempDir()
        self.ca = try ca ?? makeCertificateAuthority(in: dir.path)
        certDirectory = dir.file("certs")
        try FileManager.default.createDirectory(atPath: certDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: self.ca.cert, toPath: certDirectory + "/ca.crt")
        let server = try makeServerCertificate(in: dir.path, name: "server", host: host, ca: self.ca)
        let log = dir.file("registry.log")
        pid = try startServer(via + [venvBin + "python", repoRoot + "/tools/kubesim/registry.py", dir.file("registry"),
                                     "--host", host, "--cert", server.cert, "--key", server.key,
                                     "--user", username, "--password", password], log: log)
        // The registry names the port it took: "listening on HOST:PORT, tls".
        let marker = "listening on \(host):"
        let port = Poll.until(deadline: Clock.monotonic() + 30, every: 0.05) { () -> String? in
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.firstRange(of: marker).map { String(text[$0.upperBound...].prefix(while: \.isNumber)) }
        }
        guard let port, !port.isEmpty else {
            kill(-pid, SIGKILL)
            _ = try? Subprocess.wait(pid)
            throw StartError(description: "the registry did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        address = "\(host):\(port)"
    }

    public func stop() {
        guard pid > 0 else { return }
        kill(-pid, SIGKILL)
        _ = try? Subprocess.wait(pid)
        pid = 0
    }

    deinit { stop() }
}
