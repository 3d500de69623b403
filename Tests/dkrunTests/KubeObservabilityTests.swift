import DKCore
import DKTestSupport
import Foundation
import Testing

/// Seeing a flow run's Dask cluster on Kubernetes, on the test cluster: how its worker pods
/// ended, and its dashboard.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubeObservabilityTests {
    func write(_ c: KubesimCluster, _ name: String, _ text: String) throws -> String {
        let path = c.dir.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// scheduler.yaml, whose scheduler allows `allowedFailures` worker deaths per task, and
    /// worker.yaml, whose worker a task can kill (`dask worker --no-nanny` under a shell that
    /// exits with its status, 128+9, as a container runtime reports a killed process).
    func writeKillableSpecs(_ c: KubesimCluster, allowedFailures: Int) throws {
        _ = try write(c, "scheduler.yaml", """
            kind: Pod
            spec:
              containers:
                - name: dask-scheduler
                  args: [dask, scheduler, --port, "8786", --dashboard-address, ":8787"]
                  env: [{ name: DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES, value: "\(allowedFailures)" }]
            """)
        _ = try write(c, "worker.yaml", """
            kind: Pod
            spec:
              containers:
                - name: dask-worker
                  command: [sh, -c, "dask worker --no-nanny --nthreads 1 --no-dashboard --death-timeout 60; exit $?"]
            """)
    }

    /// A task kills its worker (the pod's `dask worker --no-nanny`, under a shell that exits
    /// with its status, 128+9, as a container runtime reports a killed process); the scheduler
    /// allows no failure, so Dask gives the task up (KilledWorker) naming that worker. (The run
    /// ends with it, before a periodic check would say the pod ended: KubeDaskClusterTests.)
    @Test func aTaskLostWithItsWorkerPodSaysHowThePodEnded() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        try writeKillableSpecs(c, allowedFailures: 0)
        let flow = try write(c, "killer.lua", """
            local killer = task("killer", function()
              local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
              dk.shell.run { "kill", "-9", ppid }
              dk.time.sleep(30)
            end)
            return Flow("Killer", { environment = DaskKubernetesEnvironment {
              scheduler_spec_file = "scheduler.yaml", worker_spec_file = "worker.yaml" } }, function() killer() end)
            """)
        let r = try c.exec([CLI.binary, flow], timeout: 240)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let pod = try #require(r.stdout.firstMatch(of: #/worker pod (dask-root-[0-9a-f]+) created/#)?.output.1, "\(r.stdout)")
        #expect(r.stdout.contains("killer: Failed: Dask gave up on this task")
                && r.stdout.contains("(worker pod \(pod) was killed by signal 9 (exit 137))"), "\(r.stdout)")
        c.expectNothingLeft()
    }

    /// Workers that die while holding results a task still needs, as a pod over its memory
    /// limit does (ContainerClusterTests): `killer` kills every worker it runs on, a second after
    /// the children of `held`, which `total` needs, have finished there (it needs only their
    /// mapped task's result, a suspect of its own). Dask counts each death
    /// against `killer` only and computes the lost children again on the next worker, however
    /// often; dkrun counts it against them too, and once their results have died with more
    /// workers than the scheduler allows (1 here) gives them up as Dask gives a task up, naming
    /// the pods. `total` then decides with its trigger, and the run ends.
    @Test func resultsLostWithTheirWorkersTooOftenFailTheirTasksNamingThePods() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        try writeKillableSpecs(c, allowedFailures: 1)
        let flow = try write(c, "held.lua", """
            local held = task("held", function(i) return i end)
            -- After the children: it takes their mapped task's result (not theirs, which total takes).
            local killer = task("killer", function(_)
              dk.time.sleep(1)
              local worker = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
              dk.shell.run { "kill", "-9", worker }
              dk.time.sleep(30)
            end)
            local total = task("total", function(xs, _) print("total of " .. #xs) end)
            return Flow("Held", {
              environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 1,
                scheduler_spec_file = "scheduler.yaml", worker_spec_file = "worker.yaml" },
              -- The Job's pod runs this tree's Dask driver (pods get no PYTHONPATH of the host's).
              run_config = KubernetesRun { env = { PYTHONPATH = "\(CLI.repoRoot)/python" } },
            }, function()
              local xs = held:map { 1, 2 }
              total(xs, killer(xs))
            end)
            """)
        let r = try c.exec([CLI.binary, flow], timeout: 300)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let pods = r.stdout.matches(of: #/worker pod (dask-root-[0-9a-f]+) created/#).map { String($0.output.1) }
        for child in ["held[0]", "held[1]"] {
            let states = r.lines.filter { $0.contains(" \(child): ") && !$0.contains("Running") }
            // Success, then Failed once its result has died with two workers, both named.
            #expect(states.first?.contains("\(child): Success") == true, "\(r.stdout)")
            let failed = states.last ?? ""
            #expect(failed.contains("\(child): Failed: Dask gave up on this task: the workers running it or holding its result died 2 times"),
                    "\(r.stdout)")
            #expect(pods.prefix(2).allSatisfy { failed.contains("worker pod \($0) was killed by signal 9 (exit 137)") }, "\(pods) \(failed)")
        }
        #expect(r.stdout.contains("killer: Failed: Dask gave up on this task"), "\(r.stdout)")
        #expect(r.stdout.contains("total: TriggerFailed"), "\(r.stdout)")
        #expect(!r.stdout.contains("total of"), "\(r.stdout)")
        c.expectNothingLeft()
    }

    /// The run says where its dashboard is through the API server; the real kubectl fetches
    /// the dashboard's page there while the run goes on (the test cluster's services/proxy).
    @Test func theDashboardIsReachedThroughTheAPIServersServiceProxy() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "slow.lua", """
            local slow = task("slow", function() dk.time.sleep(1000) end)
            return Flow("Slow", { environment = DaskKubernetesEnvironment {} }, function() slow() end)
            """)
        let process = try c.startDkrun([flow])
        var scheduler: String?
        let deadline = Date().addingTimeInterval(120)
        while scheduler == nil && Date() < deadline {
            scheduler = c.kubectl(["get", "pods", "-l", "dkrun.io/component=scheduler", "--field-selector=status.phase=Running",
                                   "-o", "jsonpath={.items[*].metadata.name}"]).split(separator: " ").first.map(String.init)
            Thread.sleep(forTimeInterval: 0.3)
        }
        let path = "/api/v1/namespaces/default/services/\(try #require(scheduler)):http-dashboard/proxy/status"
        var page = ""
        while !page.contains("Dask") && Date() < deadline {  // the scheduler's dashboard may take a moment to listen
            page = c.kubectl(["get", "--raw", path])
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(page.contains("<title>Dask Diagnostic UI</title>"), "\(page.prefix(500))")
        let missing = try c.exec(["kubectl", "get", "--raw", "/api/v1/namespaces/default/services/nothing:80/proxy/"])
        #expect(missing.status != 0 && missing.stderr.contains("NotFound"), "\(missing.stderr)")
        process.interrupt()
        let r = CLI.finish(process)
        #expect(r.status == 130, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("Dask dashboard through the API server: kubectl proxy, then http://127.0.0.1:8001\(path)"),
                "\(r.stdout)")
        c.expectNothingLeft()
    }
}
