import DKCore
import DKTestSupport
import Foundation
import Testing

/// The private registry the tests run (`RegistryTestServer`: Debian's docker-registry, TLS from a
/// CA of the test's, htpasswd), checked with podman as a client: its user gets in over its CA
/// only. Pushes and pulls with pull secrets: tools/kubesim/tests/test_pull_secrets.py.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RegistryTests {
    /// `podman login` to the registry through `via` (a cluster's `exec`), with an auth file of its own.
    static func login(_ registry: RegistryTestServer, password: String, trusting: Bool = true,
                      via: ([String]) throws -> CLI.Result) throws -> CLI.Result {
        try via(["podman", "login", "--authfile", registry.dir.file("auth.json"), "-u", registry.username, "-p", password]
            + (trusting ? ["--cert-dir", registry.certDirectory] : []) + [registry.address])
    }

    @Test func itsUserGetsInOverItsCAOnly() throws {
        let registry = try RegistryTestServer()
        defer { registry.stop() }
        #expect(registry.address.hasPrefix("127.0.0.1:"))
        let here = { (argv: [String]) in CLI.Result(try Subprocess.run(argv, environment: CLI.environment(BaseImageTests.podmanConfiguration)
            .map { "\($0.key)=\($0.value)" }, timeout: 60)) }
        let good = try Self.login(registry, password: registry.password, via: here)
        #expect(good.status == 0, "\(good.stderr)")
        let wrong = try Self.login(registry, password: "not-it", via: here)
        #expect(wrong.status != 0 && wrong.stderr.contains("invalid username/password"), "\(wrong.stderr)")
        let untrusted = try Self.login(registry, password: registry.password, trusting: false, via: here)
        #expect(untrusted.status != 0 && untrusted.stderr.contains("certificate signed by unknown authority"), "\(untrusted.stderr)")
    }

    @Test func aClusterRunsItOnTheNodeAddress() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let ca = try makeCertificateAuthority(in: c.dir.path, name: "registry-ca")
        let registry = try c.registry(ca: ca)
        defer { registry.stop() }
        #expect(registry.address.hasPrefix(KubesimCluster.nodeIP + ":"))
        let inCluster = { (argv: [String]) in try c.exec(argv, environment: BaseImageTests.podmanConfiguration) }
        let good = try Self.login(registry, password: registry.password, via: inCluster)
        #expect(good.status == 0, "\(good.stderr)")
        let outside = try Subprocess.run(["curl", "-s", "--cacert", ca.cert, "https://\(registry.address)/v2/"], timeout: 30)
        #expect(outside.status != 0, "the registry answered outside the cluster's network")
    }
}
