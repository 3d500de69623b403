import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP server (HTTPS with `tls`) on 127.0.0.1 for one test: Tests/Fixtures/http_server.py,
/// whose docstring lists its paths. Killed when this goes. A test cluster starts one on its
/// node's address, where its pods reach it (`KubesimCluster.httpServer()`).
public final class HTTPTestServer {
    public let port: Int
    private let scheme: String
    private let host: String
    private let directory: String
    private let pid: pid_t

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    /// - Parameters:
    ///   - host: the address it listens on, which `url` names.
    ///   - via: a command prefix that runs it where `host` is reachable (a test cluster's
    ///     `cluster.py exec DIR --`).
    public init(tls: (cert: String, key: String)? = nil, host: String = "127.0.0.1", via: [String] = []) throws {
        scheme = tls == nil ? "http" : "https"
        self.host = host
        directory = "/tmp/dkh-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let portFile = directory + "/port"
        let argv = via + ["python3", repoRoot + "/Tests/Fixtures/http_server.py", portFile, "--host", host]
            + (tls.map { [$0.cert, $0.key] } ?? [])
        pid = try startServer(argv, log: directory + "/server.log")
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: portFile) {
            guard Date() < deadline else {
                kill(-pid, SIGKILL)
                throw StartError(description: "the HTTP test server did not start: "
                    + ((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""))
            }
            usleep(20_000)
        }
        port = Int(try String(contentsOfFile: portFile, encoding: .utf8)) ?? 0
    }

    deinit {
        kill(-pid, SIGKILL)
        _ = try? Subprocess.wait(pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The URL of `path` (from "/") on this server.
    public func url(_ path: String) -> String { "\(scheme)://\(host):\(port)\(path)" }
}
