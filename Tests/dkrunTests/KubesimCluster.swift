import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A whole test cluster (tools/kubesim/cluster.py: API server and kubelet in a network
/// namespace of their own, pods as real processes, or as podman containers of their images)
/// for one test; `down` (or deinit) stops every process and container it started and removes
/// its namespaces.
final class KubesimCluster {
    let dir: TempDir
    /// The cluster's id: its containers' label `kubesim.cluster`, its namespaces' names.
    let id: String

    /// - Parameters:
    ///   - apiserver: extra arguments for its API server (`--forbid VERB:RESOURCE`).
    ///   - containers: pods as podman containers of their images (from podman's local store).
    ///   - registryCA: a CA certificate the kubelet's image pulls trust (`registry(ca:)`).
    init(apiserver: [String] = [], containers: Bool = false, registryCA: String? = nil) throws {
        dir = try TempDir()
        // Pods run commands from the host: Dask from the virtualenv, dkrun from the build.
        let path = "\(venvBin):\(Files.directory(of: CLI.binary)):/usr/sbin:/usr/bin:/sbin:/bin"
        let env = ProcessInfo.processInfo.environment.merging(["PATH": path]) { $1 }
        let runtime = ["--runtime", containers ? "container" : "process"]
        let registry = registryCA.map { ["--registry-ca", $0] } ?? []
        let r = try Self.cluster(["up", dir.path] + runtime + registry + ["--"] + apiserver, environment: env.map { "\($0.key)=\($0.value)" }, timeout: 60)
        guard r.status == 0 else { throw CLIError("cluster up: " + r.stderr) }
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("state.json")))) as? [String: Any]
        guard let id = state?["cluster_id"] as? String else { throw CLIError("cluster up: no cluster_id in \(dir.file("state.json"))") }
        self.id = id
    }

    /// tools/kubesim/cluster.py with these arguments.
    static func cluster(_ arguments: [String], environment: [String]? = nil, timeout: Double) throws -> CLI.Result {
        CLI.Result(try Subprocess.run([venvBin + "python", repoRoot + "/tools/kubesim/cluster.py"] + arguments,
                                      environment: environment, timeout: timeout))
    }

    /// A command inside the cluster's network namespace, with its kubeconfig (and DKRUN_HOME, see `CLI.home`).
    func exec(_ argv: [String], environment: [String: String] = [:], timeout: Double = 90) throws -> CLI.Result {
        try Self.cluster(["exec", dir.path, "--"] + argv, environment: CLI.environment(environment).map { "\($0.key)=\($0.value)" },
                         timeout: timeout)
    }

    /// `dkrun ARGS` inside the cluster's namespace, started (not waited for).
    func startDkrun(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = CLI.start(["exec", dir.path, "--", CLI.binary] + arguments, environment: environment)
        process.executableURL = URL(fileURLWithPath: venvBin + "python")
        process.arguments = [repoRoot + "/tools/kubesim/cluster.py"] + process.arguments!
        try process.run()
        return process
    }

    /// The node's address in the cluster's network, which every pod routes to (the API server listens there).
    static let nodeIP = "127.10.0.1"

    /// An S3 server (moto) on the node's address, inside the cluster's network namespace, that
    /// every pod reaches as it reaches the API server: a result location all of a run's pods
    /// share. The test stops it (`stop()`); the cluster's `down` would too.
    func s3Server(bucket: String = "results") throws -> S3TestServer {
        try S3TestServer(bucket: bucket, host: Self.nodeIP, via: inNode)
    }

    /// The HTTP test server (Tests/Fixtures/http_server.py) on the node's address, inside the
    /// cluster's network namespace, where every pod reaches it.
    func httpServer() throws -> HTTPTestServer {
        try HTTPTestServer(host: Self.nodeIP, via: inNode)
    }

    /// The command prefix that runs a program inside the cluster's network namespace.
    private var inNode: [String] { [venvBin + "python", repoRoot + "/tools/kubesim/cluster.py", "exec", dir.path, "--"] }

    /// A private registry (TLS, htpasswd) on the node's address, inside the cluster's network
    /// namespace, where the kubelet pulls from it and `exec`'s podman pushes to it; its
    /// certificate signed by `ca`, the one the cluster was made to trust (`registryCA`). The
    /// test stops it (`stop()`); the cluster's `down` would too.
    func registry(ca: (cert: String, key: String)) throws -> RegistryTestServer {
        try RegistryTestServer(host: Self.nodeIP, ca: ca, via: inNode)
    }

    /// The label every object of a dkrun flow run has.
    static let runSelector = "app.kubernetes.io/managed-by=dkrun"

    /// Expects nothing of any run left: pods, Jobs, Services, disruption budgets, ConfigMaps, Secrets.
    func expectNothingLeft(sourceLocation: SourceLocation = #_sourceLocation) {
        let left = kubectl(["get", "pods,jobs,services,poddisruptionbudgets,configmaps,secrets", "-l", Self.runSelector, "-o", "name"])
        #expect(left.isEmpty, "left on the cluster: \(left)", sourceLocation: sourceLocation)
    }

    /// `kubectl ARGS`' output; fails the test's expectations by returning "" on errors.
    func kubectl(_ arguments: [String]) -> String {
        (try? exec(["kubectl"] + arguments))?.stdout ?? ""
    }

    /// The log of a pod's containers, from the files the kubelet writes (kept after the pod is deleted).
    func podLog(_ pod: String) -> String {
        let logs = dir.file("logs")
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []
        return namespaces.sorted().flatMap { namespace -> [String] in
            let directory = "\(logs)/\(namespace)/\(pod)"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return files.sorted().compactMap { try? String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }
        }.joined()
    }

    /// Applies `dkrun k8s static-cluster`'s manifests (kubectl's result).
    func applyStaticCluster(workers: Int, image: String = "ghcr.io/dask/dask:2026.8.0") throws -> CLI.Result {
        let manifests = try CLI.run(["k8s", "static-cluster", "--workers", String(workers), "--image", image,
                                     "--memory-limit", "1G"])
        try manifests.stdout.write(toFile: dir.file("cluster.yaml"), atomically: true, encoding: .utf8)
        return try exec(["kubectl", "apply", "-f", dir.file("cluster.yaml")])
    }

    /// The names of the pods a label selector picks.
    func pods(_ selector: String) -> [String] {
        kubectl(["get", "pods", "-l", selector, "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}"])
            .split(separator: "\n").map(String.init)
    }

    /// A flow of `items` one-second mapped tasks on 1 to 3 workers, then a total that sleeps
    /// `totalSleep` s (long enough for the idle workers to be retired) and prints its sum,
    /// items × (items + 1).
    static func scalingFlow(items: Int, totalSleep: Int) -> String {
        """
        local time = require("dk.time")
        local numbers = task("numbers", function() local t = {} for i = 1, \(items) do t[i] = i end return t end)
        local work = task("work", function(n) time.sleep(1) return n * 2 end)
        local total = task("total", function(xs)
          time.sleep(\(totalSleep))
          local s = 0
          for _, x in ipairs(xs) do s = s + x end
          print("total " .. s)
        end)
        return Flow("Scaling", { environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 3 } }, function()
          total(work:map(numbers()))
        end)
        """
    }

    /// Runs a `scalingFlow` at `path` and expects its worker pods, counted with kubectl every
    /// 0.5 s, to grow to 3 and go back to 1 (the counts are printed).
    func expectWorkersScaleToThreeAndBack(runningScalingFlowAt path: String, items: Int,
                                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        let process = try startDkrun([path])
        var counts: [Int] = []
        while process.isRunning {
            counts.append(pods("dkrun.io/component=worker").count)
            Thread.sleep(forTimeInterval: 0.5)
        }
        let r = CLI.finish(process)
        print("worker pods every 0.5 s: \(counts.map(String.init).joined(separator: " "))")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.contains("total | total \(items * (items + 1))"), "\(r.stdout)", sourceLocation: sourceLocation)
        let peak = try #require(counts.firstIndex(of: 3), "never 3 workers: \(counts)", sourceLocation: sourceLocation)
        #expect(counts[peak...].contains(1), "never back to 1 worker: \(counts)", sourceLocation: sourceLocation)
        #expect(counts.allSatisfy { $0 <= 3 }, "\(counts)", sourceLocation: sourceLocation)
        #expect(r.stdout.contains("retired by the scheduler"), "\(r.stdout)", sourceLocation: sourceLocation)
    }

    /// Makes the next `count` API requests with this method under `path` fail with `status`.
    func fail(method: String, path: String, count: Int, status: Int = 503) throws {
        let spec = "{\"method\": \"\(method)\", \"path\": \"\(path)\", \"count\": \(count), \"status\": \(status)}"
        let r = try exec(["curl", "-sk", "-X", "POST", "--data", spec, "https://\(Self.nodeIP):6443/kubesim/faults"])
        guard r.status == 0 else { throw CLIError("fault hook: \(r.stderr)") }
    }

    func down() { _ = try? Self.cluster(["down", dir.path], timeout: 60) }

    /// Kills (SIGKILL) the processes of this cluster's pods whose command line contains
    /// `pattern` (its arguments joined by spaces); returns how many. Only this cluster's: a
    /// machine-wide `pkill -f` would kill other tests' pods too (container-mode pods are
    /// processes of this machine as well).
    func killPodProcesses(matching pattern: String) throws -> Int {
        let namespaces = CLI.Result(try Subprocess.run(["ip", "netns", "list"], timeout: 30)).stdout
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("ksp-\(id)-") }
        var killed = 0
        for namespace in namespaces {
            let pids = CLI.Result(try Subprocess.run(["ip", "netns", "pids", namespace], timeout: 30)).lines.compactMap { pid_t($0) }
            for pid in pids {
                guard let argv = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
                let command = String(decoding: argv, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
                if command.contains(pattern), kill(pid, SIGKILL) == 0 { killed += 1 }
            }
        }
        return killed
    }

    /// Takes the cluster down and expects nothing of it left on the machine (`downLeavingNothing`).
    func downExpectingNothingLeft(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = try downLeavingNothing()
        #expect(left.isEmpty, "left on the machine: \(left)", sourceLocation: sourceLocation)
    }

    /// Takes the cluster down and says what of it is left on the machine: containers with its
    /// label (`kubesim.cluster`, container mode) and its network namespaces (none: empty).
    func downLeavingNothing() throws -> [String] {
        down()
        let podman = ["podman", "ps", "--all", "--filter", "label=kubesim.cluster=\(id)", "--format", "{{.Names}}"]
        let containers = CLI.Result(try Subprocess.run(podman, environment: BaseImageTests.environment, timeout: 60))
        guard containers.status == 0 else { throw CLIError("podman ps: \(containers.stderr)") }
        let namespaces = CLI.Result(try Subprocess.run(["ip", "netns", "list"], timeout: 30)).stdout
            .split(separator: "\n").filter { $0.hasPrefix("kubesim-\(id)") || $0.hasPrefix("ksp-\(id)-") }
        return containers.lines.map { "container \($0)" } + namespaces.map { "network namespace \($0)" }
    }

    deinit { down() }
}
