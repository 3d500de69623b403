import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun k8s`: the manifests it prints are valid Kubernetes for 1.29 to 1.33 and the test
/// cluster accepts them; `doctor` says what is wrong and how to fix it.
@Suite(.timeLimit(.minutes(10))) struct K8sCommandTests {
    static let manifestCommands: [[String]] = [
        ["k8s", "rbac"], ["k8s", "rbac", "--namespace", "flows", "--service-account", "runner"],
        ["k8s", "static-cluster", "--workers", "2", "--image", "ghcr.io/dask/dask:2026.8.0"],
        ["k8s", "static-cluster", "--workers", "3", "--image", "registry.example/flows:1", "--nthreads", "4",
         "--memory-limit", "6Gi", "--namespace", "default"],
    ]

    @Test(arguments: manifestCommands)
    func manifestsValidateAgainstEverySupportedKubernetes(command: [String]) throws {
        let printed = try CLI.run(command)
        #expect(printed.status == 0, "\(printed.stderr)")
        let dir = try TempDir(["m.yaml": printed.stdout])
        for version in ["1.29", "1.30", "1.31", "1.32", "1.33"] {
            let r = try Subprocess.run([venvBin + "kubernetes-validate", "-k", version, "--strict", dir.file("m.yaml")])
            #expect(r.status == 0, "\(version): \(String(decoding: r.stdout + r.stderr, as: UTF8.self))")
        }
    }

    @Test func theTestClusterAcceptsThem() throws {
        let k = try KubectlTests.Cluster()
        for command in [["k8s", "rbac"], Self.manifestCommands[2]] {
            try CLI.run(command).stdout.write(toFile: k.file("m.yaml"), atomically: true, encoding: .utf8)
            let applied = try k.kubectl(["apply", "--dry-run=server", "-f", k.file("m.yaml")])
            #expect(applied.status == 0 && applied.stdout.contains("(server dry run)"), "\(applied.stderr)")
        }
    }

    @Test func doctorPassesWithEveryPermission() throws {
        let k = try KubectlTests.Cluster()
        let r = try k.dkrun(["k8s", "doctor"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.lines.count == 3 && r.lines.allSatisfy { $0.hasPrefix("ok   ") })
        #expect(r.lines[0].hasPrefix("ok   reached \(k.kubesim.server) (Kubernetes v1.33.0-kubesim) with context kubesim in "))
    }

    @Test func doctorNamesWhatIsMissing() throws {
        let k = try KubectlTests.Cluster(arguments: ["--forbid", "create:pods", "--forbid", "get:pods/log"])
        let r = try k.dkrun(["k8s", "doctor"])
        #expect(r.status == 1)
        #expect(r.lines.last == "FAIL missing in namespace \"default\": create pods, get pods/log; grant them with "
                + "`dkrun k8s rbac --namespace default | kubectl apply -f -` (as someone allowed to make Roles)", "\(r.stdout)")
        let stranger = try k.dkrun(["k8s", "doctor", "--context", "stranger"])
        #expect(stranger.status == 1)
        #expect(stranger.lines.last?.hasPrefix("FAIL the server refuses the credentials of context stranger in ") == true, "\(stranger.stdout)")
    }

    @Test(arguments: [
        (["k8s", "doctor", "--kubeconfig", "/nonexistent/config"], 2, "dkrun: error: no kubeconfig: /nonexistent/config does not exist"),
        (["k8s", "doctor", "--kubeconfig", "CONFIG", "--context", "nope"], 2, "dkrun: error: context \"nope\" is not in kubeconfig CONFIG"),
        (["k8s", "static-cluster", "--workers", "2", "--image", "x", "--memory-limit", "4GB"], 2,
         "Error: --memory-limit '4GB' is not a memory quantity (such as 4G, 1.5G or 512Mi)"),
        (["k8s", "static-cluster", "--workers", "0", "--image", "x"], 2, "Error: --workers must be at least 1"),
    ])
    func badInput(arguments: [String], code: Int32, message: String) throws {
        let dir = try TempDir(["config": "apiVersion: v1\nkind: Config\ncurrent-context: x\n"])
        let r = try CLI.run(arguments.map { $0 == "CONFIG" ? dir.file("config") : $0 })
        #expect(r.status == code)
        #expect(r.stderr.hasPrefix(message.replacingOccurrences(of: "CONFIG", with: dir.file("config"))), "\(r.stderr)")
    }

    @Test func doctorSaysWhenTheClusterIsUnreachable() throws {
        let dir = try TempDir(["config": """
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
            contexts: [{name: c, context: {cluster: c}}]
            current-context: c
            """])
        let r = try CLI.run(["k8s", "doctor", "--kubeconfig", dir.file("config")])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("FAIL cannot reach the cluster: get version: Unreachable: connection failed for https://127.0.0.1:9/version"), "\(r.stdout)")
    }
}
