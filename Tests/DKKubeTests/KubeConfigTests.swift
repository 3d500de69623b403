import DKCore
import DKKube
import DKTestSupport
import Foundation
import Testing

/// Configuration as kubectl reads it, checked against the server where it matters.
@Suite(.timeLimit(.minutes(10))) struct KubeConfigTests {
    @Test func severalFilesContextsAndNamespaces() throws {
        let sim = try Kubesim(token: "s3cret")
        let first = try KubeClientTests.kubeconfig(sim, """
            apiVersion: v1
            kind: Config
            current-context: dev
            contexts:
            - {name: dev, context: {cluster: sim, user: dev, namespace: team}}
            users:
            - {name: dev, user: {token: s3cret}}
            """, name: "first")
        let second = try KubeClientTests.kubeconfig(sim, """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - {name: sim, cluster: {server: "\(sim.server)", certificate-authority-data: "\(Base64.encode(Array(try Data(contentsOf: URL(fileURLWithPath: sim.certificate)))))"}}
            contexts:
            - {name: dev, context: {cluster: elsewhere, user: nobody}}
            - {name: prod, context: {cluster: sim, user: prod}}
            users:
            - {name: prod, user: {tokenFile: token.txt}}
            """, name: "second")
        try "s3cret\n".write(toFile: sim.directory + "/token.txt", atomically: true, encoding: .utf8)
        let env = ["KUBECONFIG": "\(first):\(second)"]
        let dev = try KubeConfig.load(environment: env)
        #expect(dev.namespace == "team" && dev.origin == "context dev in \(first)")  // the first file wins
        #expect(try KubeClient(config: dev).list(.pods).kind == "PodList")
        let prod = try KubeConfig.load(environment: env, context: "prod", namespace: "other")
        #expect(prod.namespace == "other")
        #expect(try KubeClient(config: prod).list(.pods).kind == "PodList")  // the token file, re-read
    }

    @Test func clientCertificatesAndExecPlugins() throws {
        let dir = try TempDir()
        let (ca, cert, key) = try makeClientCertificate(in: dir.path)
        let sim = try Kubesim(token: "s3cret", clientCA: ca)
        let certConfig = try KubeClientTests.kubeconfig(sim, """
            clusters: [{name: sim, cluster: {server: "\(sim.server)", certificate-authority: server.crt}}]
            users: [{name: u, user: {client-certificate: "\(cert)", client-key: "\(key)"}}]
            contexts: [{name: c, context: {cluster: sim, user: u}}]
            current-context: c
            """, name: "cert")
        #expect(try KubeClient(config: KubeConfig.load(environment: ["KUBECONFIG": certConfig])).list(.pods).kind == "PodList")

        try """
            #!/bin/sh
            # An exec credential plugin: counts its runs, prints a token.
            echo run >> "$(dirname "$0")/runs"
            [ -n "$KUBERNETES_EXEC_INFO" ] || exit 3
            echo '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "s3cret", "expirationTimestamp": "2099-01-01T00:00:00Z"}}'
            """.write(toFile: sim.directory + "/plugin.sh", atomically: true, encoding: .utf8)
        chmod(sim.directory + "/plugin.sh", 0o755)
        let execConfig = try KubeClientTests.kubeconfig(sim, """
            clusters: [{name: sim, cluster: {server: "\(sim.server)", certificate-authority: server.crt}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh}}}]
            contexts: [{name: c, context: {cluster: sim, user: u}}]
            current-context: c
            """, name: "exec")
        let client = KubeClient(config: try KubeConfig.load(environment: ["KUBECONFIG": execConfig]))
        #expect(try client.list(.pods).kind == "PodList")
        #expect(try client.list(.pods).kind == "PodList")
        #expect(try String(contentsOfFile: sim.directory + "/runs", encoding: .utf8) == "run\n")  // kept until it expires
    }

    @Test(arguments: [
        ("clusters: [", "kubeconfig FILE:2:1: while parsing a flow node"),
        ("current-context: c\ncontexts: []", "context \"c\" is not in kubeconfig FILE"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: x, user: u}}]",
         "cluster \"x\" of context \"c\" (FILE) is not in kubeconfig FILE"),
        ("current-context: c\nclusters: [{name: x, cluster: {server: \"https://h\"}}]\ncontexts: [{name: c, context: {cluster: x, user: u}}]",
         "user \"u\" of context \"c\" (FILE) is not in kubeconfig FILE"),
        ("current-context: c\nclusters: [{name: x, cluster: {server: \"https://h\", certificate-authority: nope.crt}}]\ncontexts: [{name: c, context: {cluster: x}}]",
         "cluster \"x\" in FILE: certificate-authority DIR/nope.crt:"),
        ("apiVersion: v1", "kubeconfig FILE sets no current-context (use --context)"),
    ])
    func badKubeconfigsAreNamed(text: String, message: String) throws {
        let dir = try TempDir()
        let file = dir.path + "/config"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let expected = message.replacingOccurrences(of: "FILE", with: file).replacingOccurrences(of: "DIR", with: dir.path)
        do {
            _ = try KubeConfig.load(environment: ["KUBECONFIG": file])
            Issue.record("no error for \(text)")
        } catch {
            #expect("\(error)".hasPrefix(expected), "\(error)")
        }
    }

    /// Certificates that look like PEM but cannot be loaded are found by the first request: bad
    /// input, which the doctor passes on instead of a failed check.
    @Test func unusableCertificatesAreBadInput() throws {
        let dir = try TempDir()
        let server = try HTTPTestServer(tls: try makeCertificate(in: dir.path, name: "server"))
        let garbage = Base64.encode(Array("-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n".utf8))
        try """
            current-context: c
            clusters: [{name: k, cluster: {server: "\(server.url(""))", certificate-authority-data: \(garbage)}}]
            contexts: [{name: c, context: {cluster: k}}]
            """.write(toFile: dir.file("config"), atomically: true, encoding: .utf8)
        let client = KubeClient(config: try KubeConfig.load(environment: ["KUBECONFIG": dir.file("config")]))
        let error = #expect(throws: KubeConfig.ConfigError.self) { try Doctor(client: client).run(namespace: "default") }
        #expect(error?.description.hasPrefix("unusable TLS credentials for \(server.url("/version")): ") == true, "\(String(describing: error))")
        #expect(error?.exitStatus == .badInput)
    }

    @Test func inAPod() throws {
        let dir = try TempDir()
        try "ca".write(toFile: dir.path + "/ca.crt", atomically: true, encoding: .utf8)
        try "token".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        try "flows\n".write(toFile: dir.path + "/namespace", atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                              directory: dir.path)
        #expect(config.server == "https://10.0.0.1:443" && config.namespace == "flows" && config.caData == Array("ca".utf8))
        #expect(throws: KubeConfig.ConfigError.self) { try KubeConfig.inCluster(environment: [:], directory: dir.path) }
    }
}
