import DKCore
import DKTestSupport
import Foundation
import Testing

/// The test cluster with every pod a podman container (`cluster.py up --runtime container`)
/// of dkrun's base image (scripts/base-image.sh): a flow run's Job pod, its Dask scheduler and
/// its workers run the image's dkrun and Dask, with the limits of their pod specs as cgroup
/// limits. Each test first makes the image from the binary under test unless podman's store
/// has it (a store's image of another binary may speak another payload version).
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: podmanInstalled, "podman is not installed (scripts/setup.sh)"))
struct ContainerClusterTests {
    static let image = BaseImageTests.image

    init() throws {
        try BaseImageTests.makeImageUnlessMade()
    }

    @Test func aDaskFlowRunsInContainersOfTheBaseImage() throws {
        let c = try KubesimCluster(containers: true)
        defer { c.down() }
        let flow = c.dir.file("limits.lua")
        try """
            -- Run on a worker pod: its container's memory limit, as its cgroup says.
            local limit = task("limit", function()
              local f = assert(io.open("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
              local text = f:read("l")
              f:close()
              return text
            end)
            local show = task("show", function(value) print("worker memory limit " .. value) end)
            local flow = Flow("In containers", function() show(limit()) end)
            flow.run_config = KubernetesRun { image = "\(Self.image)" }
            flow.executor = DaskExecutor { cluster_class = "KubeCluster", adapt_kwargs = { minimum = 1, maximum = 1 } }
            return flow
            """.write(toFile: flow, atomically: true, encoding: .utf8)
        let r = try c.exec([CLI.binary, flow], timeout: 240)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(Self.image)"), "\(r.stdout)")
        // The workers' quick configuration's limit, 4G, in pages (a process-mode pod would see
        // the host's unlimited cgroup).
        #expect(r.stdout.contains("show | worker memory limit \(4_000_000_000 / 4096 * 4096)"), "\(r.stdout)")
        #expect(r.stdout.contains("nothing of it is left on the cluster"), "\(r.stdout)")
        c.expectNothingLeft()
        try c.downExpectingNothingLeft()
    }

    /// The base image pushed to the cluster's private registry (TLS from the test's CA,
    /// htpasswd) and removed from podman's store, so that every pod below pulls it: a pod without
    /// the pull secret cannot, one with it runs, and so does a flow run naming the secret, whose
    /// task on a worker pod uses the image's stdlib (dk.http, dk.json) against a server on the node.
    @Test func aFlowImageFromThePrivateRegistryRunsWithItsPullSecretOnly() throws {
        let caDirectory = try TempDir()
        let ca = try makeCertificateAuthority(in: caDirectory.path, name: "registry-ca")
        let c = try KubesimCluster(containers: true, registryCA: ca.cert)
        defer { c.down() }
        let registry = try c.registry(ca: ca)
        defer { registry.stop() }
        let image = "\(registry.address)/dkrun/flow:\(Product.version)"
        let podman = { (arguments: [String]) in try c.exec(["podman"] + arguments, environment: BaseImageTests.podmanConfiguration) }
        defer { _ = try? podman(["rmi", "--ignore", image]) }
        for arguments in [["tag", Self.image, image],
                          ["push", "--quiet", "--cert-dir", registry.certDirectory, "--creds", "\(registry.username):\(registry.password)", image],
                          ["rmi", image]] {
            let r = try podman(arguments)
            try #require(r.status == 0, "podman \(arguments): \(r.stderr)")
        }
        // kubectl's typed `create secret` sends protobuf, which the test cluster refuses: its JSON instead.
        let secret = try c.exec(["kubectl", "create", "secret", "docker-registry", "regcred", "--docker-server=\(registry.address)",
                                 "--docker-username=\(registry.username)", "--docker-password=\(registry.password)",
                                 "--dry-run=client", "-o", "json"])
        try secret.stdout.write(toFile: c.dir.file("regcred.json"), atomically: true, encoding: .utf8)
        let created = try c.exec(["kubectl", "create", "-f", c.dir.file("regcred.json")])
        try #require(created.status == 0, "\(created.stderr)")

        try """
            apiVersion: v1
            kind: Pod
            metadata: {name: without-secret}
            spec:
              restartPolicy: Never
              containers: [{name: main, image: "\(image)", command: [dkrun, --version]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: with-secret}
            spec:
              restartPolicy: Never
              imagePullSecrets: [{name: regcred}]
              containers: [{name: main, image: "\(image)", command: [dkrun, --version]}]
            """.write(toFile: c.dir.file("pods.yaml"), atomically: true, encoding: .utf8)
        let applied = try c.exec(["kubectl", "apply", "-f", c.dir.file("pods.yaml")])
        try #require(applied.status == 0, "\(applied.stderr)")
        let backOff = Poll.until(deadline: Clock.monotonic() + 120, every: 0.5) { () -> String? in
            let reason = c.kubectl(["get", "pod", "without-secret", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}"])
            return ["ErrImagePull", "ImagePullBackOff"].contains(reason) ? reason : nil
        }
        #expect(backOff != nil, "\(c.kubectl(["get", "pod", "without-secret", "-o", "json"]))")
        // The registry's words, in the pod's Failed event (its status says ImagePullBackOff by now).
        let failures = c.kubectl(["get", "events", "-o", "jsonpath={range .items[?(@.reason==\"Failed\")]}{.involvedObject.name} {.message}{\"\\n\"}{end}"])
        let refused = failures.split(separator: "\n").first { $0.hasPrefix("without-secret ") }
        #expect(refused?.contains("authentication required") == true, "\(failures)")
        let phase = Poll.until(deadline: Clock.monotonic() + 120, every: 0.5) { () -> String? in
            let phase = c.kubectl(["get", "pod", "with-secret", "-o", "jsonpath={.status.phase}"])
            return phase == "Succeeded" || phase == "Failed" ? phase : nil
        }
        #expect(phase == "Succeeded", "\(c.kubectl(["get", "pod", "with-secret", "-o", "json"]))")
        #expect(c.kubectl(["logs", "with-secret"]).contains(Product.version))
        #expect(try c.exec(["kubectl", "delete", "-f", c.dir.file("pods.yaml")]).status == 0)
        // Pulled by the pod with the secret: removed again, for the run's pods to pull.
        let removed = try podman(["rmi", image])
        try #require(removed.status == 0, "\(removed.stderr)")

        let server = try c.httpServer()
        let flow = c.dir.file("private.lua")
        try """
            local http = require("dk.http")
            local json = require("dk.json")
            -- Run on a worker pod: the image's stdlib, and a server on the node.
            local fetch = task("fetch", function()
              local answer = http.get("\(server.url("/echo"))", { headers = { ["X-From"] = "a worker pod" } })
              local echoed = json.decode(answer.body)
              return answer.status .. " " .. echoed.method .. " from " .. echoed.headers["x-from"]
            end)
            local show = task("show", function(text) print("fetched " .. text) end)
            local flow = Flow("From the registry", function() show(fetch()) end)
            flow.run_config = KubernetesRun { image = "\(image)", image_pull_secrets = { "regcred" } }
            flow.executor = DaskExecutor { cluster_class = "KubeCluster", adapt_kwargs = { minimum = 1, maximum = 1 } }
            return flow
            """.write(toFile: flow, atomically: true, encoding: .utf8)
        let r = try c.exec([CLI.binary, flow], timeout: 240)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(image)"), "\(r.stdout)")
        #expect(r.stdout.contains("show | fetched 200 GET from a worker pod"), "\(r.stdout)")
        #expect(try podman(["image", "exists", image]).status == 0, "the run's pods did not pull the image")
        c.expectNothingLeft()
        registry.stop()
        try c.downExpectingNothingLeft()
    }

    /// A Dask worker (no nanny, no memory management of its own: `--memory-limit 0`) in a pod
    /// with a small memory limit, holding the results of mapped tasks until their reduction: it
    /// outgrows its pod's limit, the kernel kills it, the largest process of the container's
    /// cgroup, and the pod ends OOMKilled, exit code 137, as kubectl and the run say.
    /// Each replacement worker computes the lost results again and is killed in turn, until
    /// they have died with more workers than Dask allows: the run ends, saying why.
    @Test func aWorkerOverItsMemoryLimitIsOOMKilled() throws {
        let c = try KubesimCluster(containers: true)
        defer { c.down() }
        let spec = c.dir.file("worker.yaml")
        try """
            kind: Pod
            spec:
              containers:
              - name: dask-worker
                image: "\(Self.image)"
                args: [dask, worker, --nthreads, "1", --no-nanny, --memory-limit, "0"]
                resources: {requests: {cpu: "1", memory: 200M}, limits: {cpu: "1", memory: 200M}}
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        let flow = c.dir.file("oom.lua")
        try """
            -- 60 results of 4 MB, all held by the worker until the sum: far over its pod's 200M.
            local big = task("big", function(i) return string.rep("x", 4 * 1024 * 1024 - 8) .. string.format("%08d", i) end)
            local count = task("count", function(xs) print("held " .. #xs) end)
            local range = {}
            for i = 1, 60 do range[i] = i end
            return Flow("Over the limit", { environment = DaskKubernetesEnvironment {
              worker_spec_file = "\(spec)", min_workers = 1, max_workers = 1 } }, function() count(big:map(range)) end)
            """.write(toFile: flow, atomically: true, encoding: .utf8)
        let process = try c.startDkrun([flow], environment: ["DKRUN_IMAGE": Self.image])
        let killed = Poll.until(deadline: Clock.monotonic() + 180, every: 0.5, stop: { !process.isRunning }) { () -> String? in
            let states = c.kubectl(["get", "pods", "-l", "dkrun.io/component=worker", "-o",
                                    "jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.exitCode}{\"\\n\"}{end}"])
            return states.split(separator: "\n").first { $0.hasSuffix(" OOMKilled 137") }.map(String.init)
        }
        let events = c.kubectl(["get", "events", "-o", "jsonpath={range .items[?(@.reason==\"OOMKilling\")]}{.involvedObject.name}: {.message}{\"\\n\"}{end}"])
        // The Job pod's last status seen (dkrun deletes the pod at the end), for the failures below.
        var jobPod = ""
        // Each new worker is killed in turn as it computes the lost results again, until they
        // have died with more workers than the scheduler allows (3): the run ends by itself.
        let ended = Poll.until(deadline: Clock.monotonic() + 420, every: 1) { () -> Bool? in
            let seen = c.kubectl(["get", "pods", "-l", "dkrun.io/component=job", "-o",
                                  "jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.containerStatuses[0].state}{end}"])
            if !seen.isEmpty { jobPod = seen }
            return process.isRunning ? nil : true
        }
        if process.isRunning { process.interrupt() }
        let r = CLI.finish(process)
        let name = try #require(killed?.split(separator: " ").first.map(String.init), "\(r.stdout)\(r.stderr)")
        #expect(events.contains("\(name): Memory cgroup out of memory: killed container dask-worker (memory limit 200M)"), "\(events)")
        // dkrun says how the pod ended, then deletes it; the tasks whose results died say why.
        #expect(r.stdout.contains("worker pod \(name) was OOMKilled (exit 137): deleting it"), "\(r.stdout)")
        #expect(ended == true, "the run did not end by itself: \(r.stdout)")
        // The give-up lines come last in the Job pod's log, after event lines that carry 4 MB
        // results: dkrun reads it to its end (a failure shows the pod's state and its log).
        // They name every lost worker's pod; the one seen above is not always the first (a
        // pod dkrun deleted between two looks of the test is not seen).
        let jobLog = c.podLog(jobPod.split(separator: " ").first.map(String.init) ?? "")
            .split(separator: "\n").map { $0.count > 300 ? $0.prefix(300) + "…" : String($0) }.joined(separator: "\n")
        #expect(r.lines.contains { $0.contains(": Failed: Dask gave up on this task") && $0.contains("worker pod \(name) was OOMKilled (exit 137)") },
                "\(r.stdout)\(r.stderr)\nthe Job pod, last seen: \(jobPod)\nits log, lines cut at 300 characters:\n\(jobLog)")
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("held 60"), "\(r.stdout)")
        c.expectNothingLeft()
        try c.downExpectingNothingLeft()
    }
}
