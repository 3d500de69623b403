import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The test cluster's API server (tools/kubesim) driven by the real kubectl: the independent
/// check that it speaks Kubernetes. Over TLS with a bearer token, as a real cluster is reached.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubectlTests {
    /// The test API server and a kubeconfig for kubectl: a user with its token, and one with a wrong one.
    final class Cluster {
        let kubesim: Kubesim
        let kubeconfig: String
        var dir: String { kubesim.directory }

        /// - Parameter arguments: more options for the API server (such as --forbid).
        init(arguments: [String] = []) throws {
            kubesim = try Kubesim(token: "s3cret", arguments: arguments)
            kubeconfig = kubesim.directory + "/kubeconfig"
            try """
                apiVersion: v1
                kind: Config
                clusters:
                - name: kubesim
                  cluster: {server: "\(kubesim.server)", certificate-authority: "\(kubesim.certificate)"}
                users:
                - name: tester
                  user: {token: s3cret}
                - name: stranger
                  user: {token: wrong}
                contexts:
                - name: kubesim
                  context: {cluster: kubesim, user: tester, namespace: default}
                - name: stranger
                  context: {cluster: kubesim, user: stranger}
                current-context: kubesim
                """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        }

        func file(_ name: String) -> String { dir + "/" + name }

        /// Runs dkrun with this cluster's kubeconfig.
        func dkrun(_ arguments: [String]) throws -> CLI.Result {
            try CLI.run(arguments, environment: ["KUBECONFIG": kubeconfig])
        }

        func kubectl(_ arguments: [String], timeout: Double = 30) throws -> CLI.Result {
            let env = ProcessInfo.processInfo.environment.merging(["KUBECONFIG": kubeconfig]) { $1 }
            return CLI.Result(try Subprocess.run(["kubectl"] + arguments, environment: env.map { "\($0.key)=\($0.value)" },
                                                 timeout: timeout))
        }
    }

    static let manifests = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: sleeper
          labels: {app: "y", tier: worker}
        spec:
          containers:
          - name: main
            image: python:3.11
            command: [sleep, "100"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: dask-scheduler}
        spec:
          selector: {app: "y"}
          ports: [{port: 8786}]
        """

    @Test func applyGetLabelExplainDelete() throws {
        let k = try Cluster()
        try Self.manifests.write(toFile: k.file("m.yaml"), atomically: true, encoding: .utf8)
        let applied = try k.kubectl(["apply", "-f", k.file("m.yaml")])
        #expect(applied.stdout == "pod/sleeper created\nservice/dask-scheduler created\n", "\(applied.stderr)")
        #expect(try k.kubectl(["apply", "-f", k.file("m.yaml")]).stdout.contains("pod/sleeper unchanged"))
        #expect(try k.kubectl(["apply", "--dry-run=server", "-f", k.file("m.yaml")]).status == 0)
        #expect(try k.kubectl(["get", "pods", "-l", "app=y", "-o", "name"]).stdout == "pod/sleeper\n")
        #expect(try k.kubectl(["get", "pods", "-l", "app=z", "-o", "name"]).stdout == "")
        #expect(try k.kubectl(["label", "pod", "sleeper", "extra=1"]).stdout == "pod/sleeper labeled\n")
        #expect(try k.kubectl(["get", "pod", "sleeper", "-o", "jsonpath={.metadata.labels.extra} {.status.phase}"]).stdout == "1 Pending")
        #expect(try k.kubectl(["get", "svc", "dask-scheduler", "-o", "jsonpath={.spec.clusterIP}"]).stdout.hasPrefix("127.11."))
        #expect(try k.kubectl(["explain", "pod.spec.containers.imagePullPolicy"]).stdout.contains("FIELD: imagePullPolicy <string>"))
        #expect(try k.kubectl(["delete", "pods", "-l", "tier=worker"]).stdout == "pod \"sleeper\" deleted\n")
        #expect(try k.kubectl(["get", "pods"]).stderr == "No resources found in default namespace.\n")
    }

    @Test func errorsAreTheServersOwn() throws {
        let k = try Cluster()
        try """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers: [{name: main, image: x, bogus: 1}]
            """.write(toFile: k.file("bad.yaml"), atomically: true, encoding: .utf8)
        let strict = try k.kubectl(["apply", "-f", k.file("bad.yaml")])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("strict decoding error: unknown field \"spec.containers[0].bogus\""), "\(strict.stderr)")
        let missing = try k.kubectl(["get", "pod", "nope"])
        #expect(missing.stderr == "Error from server (NotFound): pods \"nope\" not found\n")
        let denied = try k.kubectl(["--context", "stranger", "get", "pods"])
        #expect(denied.status == 1 && denied.stderr.contains("Unauthorized"), "\(denied.stderr)")
    }

    @Test func watchSeesWhatHappens() throws {
        let k = try Cluster()
        try Self.manifests.write(toFile: k.file("m.yaml"), atomically: true, encoding: .utf8)
        let applier = Thread {
            usleep(1_500_000)
            _ = try? k.kubectl(["apply", "-f", k.file("m.yaml")])
            _ = try? k.kubectl(["delete", "pod", "sleeper"])
        }
        applier.start()
        let watched = try k.kubectl(["get", "pods", "-w", "--output-watch-events"], timeout: 4)
        let events = watched.lines.dropFirst().map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(events == ["ADDED sleeper", "DELETED sleeper"], "\(watched.stdout)\n\(watched.stderr)")
    }
}
