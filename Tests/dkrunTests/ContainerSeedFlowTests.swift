import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What ContainerSeedFlowTests' tests share, made once before the first and removed after the
/// last (`SeedFlowsScope`): a container-mode test cluster, and the flow images `dkrun build
/// --offline` made, with the builds' output. Read-only while the tests run, one at a time.
final class SeedFlows: @unchecked Sendable {
    /// The Docker storage's image of custom_worker_spec.lua and static_cluster.lua (and of the
    /// worker spec), as the seeds name it.
    static let seedImage = "gcr.io/dev/dask-k8s-flow:0.1.0"
    /// The image of the DaskOnKubernetesEnvironment flow (`daskOnKubernetesFlow`).
    static let daskOnKubernetesImage = "dkrun-tests/dask-on-k8s:seeds"

    let cluster: KubesimCluster
    /// The wheelhouse of the builds: one wheel, dkrun_probe, that no image has.
    let wheelhouse: TempDir
    let flows: TempDir
    let seedBuild: CLI.Result
    let daskOnKubernetesBuild: CLI.Result

    /// The older DaskOnKubernetesEnvironment, its image on dkrun's base (its default): a task on
    /// a worker pod reads the environment variable and the file only that image has.
    static let daskOnKubernetesFlow = """
        local numbers = task("numbers", function() return { 1, 2, 3, 4 } end)
        local square = task("square", function(n) return n * n end)
        local report = task("report", function(squares)
          local total = 0
          for _, s in ipairs(squares) do total = total + s end
          local f = assert(io.open("/opt/flow/sales.csv"))
          local header = f:read("l")
          f:close()
          print("sum of squares: " .. total .. " (" .. os.getenv("REPORT_LABEL") .. "), sales.csv: " .. header)
        end)
        return Flow("Dask on Kubernetes", {
          environment = DaskOnKubernetesEnvironment {
            image_name = "dkrun-tests/dask-on-k8s",
            image_tag = "seeds",
            env_vars = { REPORT_LABEL = "from the image" },
            files = { ["sales.csv"] = "/opt/flow/sales.csv" },
            max_workers = 2,
          },
        }, function()
          report(square:map(numbers()))
        end)
        """

    init() throws {
        try BaseImageTests.makeImageUnlessMade()
        cluster = try KubesimCluster(containers: true)
        wheelhouse = try TempDir()
        try writeProbeWheel(into: wheelhouse.path)
        flows = try TempDir(["dask_on_kubernetes.lua": Self.daskOnKubernetesFlow,
                             "sales.csv": try String(contentsOfFile: CLI.repoRoot + "/examples/sales.csv", encoding: .utf8)])
        seedBuild = try ImageBuildTests.build([CLI.repoRoot + "/examples/custom_worker_spec.lua", "-o", flows.file("seed-ctx"),
                                               "--no-push", "--offline", wheelhouse.path])
        daskOnKubernetesBuild = try ImageBuildTests.build([flows.file("dask_on_kubernetes.lua"), "-o", flows.file("dok-ctx"),
                                                           "--offline", wheelhouse.path])
    }

    /// Takes the cluster down and removes the images; throws naming whatever is left.
    func remove() throws {
        let left = try cluster.downLeavingNothing()
        let images = [Self.seedImage, Self.daskOnKubernetesImage]
        ImageBuildTests.removeImages(tagged: images, builtBy: [seedBuild, daskOnKubernetesBuild])
        let kept = try images.filter { try BaseImageTests.podman(["image", "exists", $0]).status == 0 }
        if !(left + kept).isEmpty { throw CLIError("left on the machine: \((left + kept.map { "image \($0)" }).joined(separator: ", "))") }
    }
}

/// Runs a suite's tests with `SeedFlows.current` made for them, and removed after them.
struct SeedFlowsScope: SuiteTrait, TestScoping {
    @TaskLocal static var current: SeedFlows?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let shared = try SeedFlows()
        do {
            try await Self.$current.withValue(shared) { try await function() }
        } catch {
            try? shared.remove()
            throw error
        }
        try shared.remove()
    }
}

/// A container's limits as podman set them (`podman inspect`) and as its cgroup (v1) has them.
struct ContainerLimits: Equatable {
    var image = "", memory = 0, nanoCPUs = 0, cpuShares = 0, memoryReservation = 0
    /// The cgroup files, by name: memory.limit_in_bytes, memory.soft_limit_in_bytes, cpu.cfs_quota_us, ...
    var cgroup: [String: Int] = [:]

    /// The limits of the container of the pod with this uid in the cluster.
    init(ofPod uid: String, in cluster: KubesimCluster) throws {
        let format = "{{.ImageName}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} "
            + "{{.HostConfig.MemoryReservation}} {{.State.Pid}}"
        let inspected = try BaseImageTests.podman(["inspect", "--format", format, "kubesim-\(cluster.id)-\(uid)"])
        let fields = inspected.stdout.split(separator: " ").map { String($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard inspected.status == 0, fields.count == 6, let pid = Int(fields[5]) else { throw CLIError("podman inspect: \(inspected.stderr)") }
        image = fields[0]
        (memory, nanoCPUs, cpuShares, memoryReservation) = (Int(fields[1]) ?? -1, Int(fields[2]) ?? -1, Int(fields[3]) ?? -1, Int(fields[4]) ?? -1)
        // The container's process's cgroups: "N:memory:/libpod_parent/libpod-ID", "N:cpu:/...".
        let paths = Dictionary(try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n").compactMap {
            let parts = $0.split(separator: ":", maxSplits: 2).map(String.init)
            return parts.count == 3 ? (parts[1], parts[2]) : nil
        }) { first, _ in first }
        for (controller, file) in [("memory", "memory.limit_in_bytes"), ("memory", "memory.soft_limit_in_bytes"),
                                   ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us"), ("cpu", "cpu.shares")] {
            guard let path = paths[controller] else { throw CLIError("no \(controller) cgroup in /proc/\(pid)/cgroup: \(paths)") }
            let text = try String(contentsOfFile: "/sys/fs/cgroup/\(controller)\(path)/\(file)", encoding: .utf8)
            cgroup[file] = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

/// The seed flows end to end on the test cluster in container mode (`cluster.py up
/// --runtime container`), every pod a podman container of the flow's image: the seeds' Docker
/// storage image (custom_worker_spec.lua, static_cluster.lua) and a DaskOnKubernetesEnvironment's,
/// each built once by `dkrun build --offline` on dkrun's base image, which min_max_workers.lua
/// (naming no image) runs on. One cluster serves every test; kubectl reads the pods, podman and
/// the cgroup files their containers.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: podmanInstalled, "podman is not installed (scripts/setup.sh)"),
       SeedFlowsScope())
struct ContainerSeedFlowTests {
    var shared: SeedFlows { SeedFlowsScope.current! }

    /// Seconds since midnight of a run's log line ("HH:MM:SS.mmm ...").
    static func clock(_ line: String?) -> Double? {
        guard let clock = line?.split(separator: " ").first else { return nil }
        let parts = clock.split(separator: ":").compactMap { Double($0) }
        return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : nil
    }

    @Test func theSeedsImageIsBuiltOfflineWithTheStdlibTheDashboardAndExtraPipPackages() throws {
        let built = shared.seedBuild, image = SeedFlows.seedImage, wheelhouse = shared.wheelhouse
        try #require(built.status == 0, "\(built.stdout)\(built.stderr)")
        // podman's lines, streamed into dkrun's stdout between dkrun's own.
        let lines = built.lines
        let command = try #require(lines.firstIndex { $0.hasPrefix("$ podman build -t \(image) --network none ") }, "\(built.stdout)")
        let firstStep = try #require(lines.firstIndex { $0.hasPrefix("STEP 1/") }, "\(built.stdout)")
        #expect(lines.firstIndex { $0.hasPrefix("build context for \(image) written") } ?? Int.max < command)
        #expect(command < firstStep && firstStep < lines.count - 1 && lines.last == "built \(image)", "\(built.stdout)")
        #expect(try String(contentsOfFile: shared.flows.file("seed-ctx/Dockerfile"), encoding: .utf8)
            .hasPrefix("FROM dkrun/dkrun:\(Product.version)\n"))

        let flows = try TempDir(["stdlib.lua": stdlibFlow])
        let run = try BaseImageTests.podman(["run", "--rm", "--network", "none", "-v", flows.path + ":/flows:ro", image,
                                             "dkrun", "/flows/stdlib.lua"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(#"json: {"n":42}"#), "\(run.stdout)")
        let dashboard = try BaseImageTests.podman(["run", "--rm", "--network", "none", image, "python", "-c", "import bokeh, distributed"])
        #expect(dashboard.status == 0, "\(dashboard.stderr)")

        // The entrypoint installs EXTRA_PIP_PACKAGES before the command runs; pip's own variables
        // point it at the wheelhouse, with no network.
        let probe = ["python", "-c", "import dkrun_probe; print(dkrun_probe.VALUE)"]
        let pip = ["run", "--rm", "--network", "none", "-v", wheelhouse.path + ":/wheels:ro", "-e", "PIP_NO_INDEX=1",
                   "-e", "PIP_FIND_LINKS=/wheels"]
        let without = try BaseImageTests.podman(pip + [image] + probe)
        #expect(without.status != 0 && without.stderr.contains("No module named 'dkrun_probe'"), "\(without.stderr)")
        let with = try BaseImageTests.podman(pip + ["-e", "EXTRA_PIP_PACKAGES=dkrun-probe==1.0", image] + probe)
        #expect(with.status == 0 && with.stdout == "42\n", "\(with.stdout)\(with.stderr)")
        #expect(with.stderr.contains("EXTRA_PIP_PACKAGES: installing dkrun-probe==1.0"), "\(with.stderr)")
        // One it cannot install (no such wheel): said, and the command runs all the same, as in Dask's images.
        let missing = try BaseImageTests.podman(pip + ["-e", "EXTRA_PIP_PACKAGES=not-there", image, "echo", "ran"])
        #expect(missing.status == 0 && missing.stdout == "ran\n", "\(missing.stdout)\(missing.stderr)")
        #expect(missing.stderr.contains("EXTRA_PIP_PACKAGES: could not install not-there; going on without"), "\(missing.stderr)")
    }

    /// custom_worker_spec.lua as it is: its spec's 2 workers, each a container of the seed's
    /// image with the spec's limits (cpu 2, memory 4G) in its cgroup. (Its EXTRA_PIP_PACKAGES
    /// cannot install with no network, nor git in the image: the workers go on without.) Each
    /// worker's container is read once kubectl says its pod runs; it lives until the run has
    /// run its tasks on the workers and deletes them, which it does only once a worker has
    /// started Dask and joined.
    @Test func theCustomWorkerSpecsTwoWorkersRunWithItsLimitsInTheirCgroups() throws {
        let c = shared.cluster
        try #require(shared.seedBuild.status == 0, "\(shared.seedBuild.stdout)\(shared.seedBuild.stderr)")
        let process = try c.startDkrun([CLI.repoRoot + "/examples/custom_worker_spec.lua"])
        var workers: [String: Result<ContainerLimits, Error>] = [:]
        let selector = "dkrun.io/component=worker,foo=bar"
        while process.isRunning {
            let running = c.kubectl(["get", "pods", "-l", selector, "-o",
                                     "jsonpath={range .items[?(@.status.phase==\"Running\")]}{.metadata.uid}{\"\\n\"}{end}"])
            for uid in running.split(separator: "\n").map(String.init) where workers[uid] == nil {
                workers[uid] = Result { try ContainerLimits(ofPod: uid, in: c) }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let r = CLI.finish(process)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(SeedFlows.seedImage)") && r.stdout.contains("output_value | Example!"), "\(r.stdout)")
        #expect(workers.count == 2, "\(workers.keys)")
        for (uid, limits) in workers {
            let limits = try limits.get()
            #expect(limits.image == SeedFlows.seedImage, "\(uid)")
            let set: [Int] = [limits.memory, limits.memoryReservation, limits.nanoCPUs, limits.cpuShares]
            #expect(set == [4_000_000_000, 4_000_000_000, 2_000_000_000, 2048], "\(uid): \(limits)")
            // The kernel's, in whole pages; 2 CPUs a quota of twice the period.
            let pages = 4_000_000_000 / 4096 * 4096
            let cgroup: [String: Int] = ["memory.limit_in_bytes": pages, "memory.soft_limit_in_bytes": pages,
                                         "cpu.cfs_quota_us": 200_000, "cpu.cfs_period_us": 100_000, "cpu.shares": 2048]
            #expect(limits.cgroup == cgroup, "\(uid): \(limits)")
        }
        c.expectNothingLeft()
    }

    /// min_max_workers.lua as it is, on dkrun's base image (it names none), then its
    /// environment (1 to 3 workers) under enough mapped tasks to grow to 3 and shrink back,
    /// the worker pods counted with kubectl as they come and go. Prints how long after the Job
    /// was made the seed's first task ran.
    @Test func minMaxWorkersScaleBetweenItsBoundsInContainers() throws {
        let c = shared.cluster
        let seed = try c.exec([CLI.binary, CLI.repoRoot + "/examples/min_max_workers.lua"], timeout: 240)
        #expect(seed.status == 0, "\(seed.stdout)\(seed.stderr)")
        #expect(seed.stdout.contains("image \(BaseImageTests.image)") && seed.stdout.contains("output_value | Example!"), "\(seed.stdout)")
        let lines = seed.lines
        if let job = Self.clock(lines.first { $0.contains(": Job dkrun-") }),
           let task = Self.clock(lines.first { $0.contains("get_value: Running") }) {
            print(String(format: "figure: the first task running %.2f s after its run's Job was made "
                + "(kubesim, container mode: the Job's, the scheduler's and a worker's pod started as containers)", task - job))
        }
        c.expectNothingLeft()

        let flow = shared.flows.file("scale.lua")
        try KubesimCluster.scalingFlow(items: 24, totalSleep: 10).write(toFile: flow, atomically: true, encoding: .utf8)
        try c.expectWorkersScaleToThreeAndBack(runningScalingFlowAt: flow, items: 24)
        c.expectNothingLeft()
    }

    /// A DaskOnKubernetesEnvironment's image, built by `dkrun build` from its fields: every pod
    /// of the run is a container of it, and a task on a worker reads its env_vars and files.
    @Test func aDaskOnKubernetesEnvironmentRunsOnItsImage() throws {
        let c = shared.cluster, built = shared.daskOnKubernetesBuild
        try #require(built.status == 0, "\(built.stdout)\(built.stderr)")
        #expect(built.lines.last == "built \(SeedFlows.daskOnKubernetesImage)", "\(built.stdout)")
        let r = try c.exec([CLI.binary, shared.flows.file("dask_on_kubernetes.lua")], timeout: 240)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(SeedFlows.daskOnKubernetesImage)"), "\(r.stdout)")
        #expect(r.stdout.contains("report | sum of squares: 30 (from the image), sales.csv: region,product,amount"), "\(r.stdout)")
        #expect(r.stdout.contains("worker pod dask-root-"), "\(r.stdout)")
        c.expectNothingLeft()
    }

    /// static_cluster.lua as it is: `dkrun k8s static-cluster`'s Deployments with the seed's
    /// image, applied with kubectl, then the flow as a Job of that image against them.
    @Test func theStaticClusterSeedRunsOnAStaticClusterOfItsImage() throws {
        let c = shared.cluster
        try #require(shared.seedBuild.status == 0, "\(shared.seedBuild.stdout)\(shared.seedBuild.stderr)")
        let applied = try c.applyStaticCluster(workers: 1, image: SeedFlows.seedImage)
        try #require(applied.status == 0, "\(applied.stderr)")
        // (Left on the cluster when the test stops early: the suite's cluster goes after the last test.)
        let ready = try c.exec(["kubectl", "wait", "--for=condition=Ready", "pod", "-l", "app", "--timeout=120s"], timeout: 150)
        #expect(ready.status == 0, "\(ready.stdout)\(ready.stderr)")
        let images = try BaseImageTests.podman(["ps", "--filter", "label=kubesim.cluster=\(c.id)", "--format", "{{.Image}}"])
        #expect(images.status == 0 && images.lines.count == 2 && images.lines.allSatisfy { $0 == SeedFlows.seedImage }, "\(images.stdout)")

        let r = try c.exec([CLI.binary, CLI.repoRoot + "/examples/static_cluster.lua"], timeout: 240)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(SeedFlows.seedImage)"), "\(r.stdout)")
        #expect(r.stdout.contains("output_value | Example!") && r.stdout.contains("DaskExecutor(tcp://dask-scheduler:8786)"), "\(r.stdout)")
        c.expectNothingLeft()
        let deleted = try c.exec(["kubectl", "delete", "-f", c.dir.file("cluster.yaml"), "--wait=true"], timeout: 120)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        let gone = try c.exec(["kubectl", "wait", "--for=delete", "pod", "-l", "app", "--timeout=60s"], timeout: 90)
        #expect(gone.status == 0, "\(gone.stderr)")
    }
}
