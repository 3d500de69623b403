import DKCore
import DKTestSupport
import Foundation
import Testing

/// Seeing a flow run's Dask cluster on Kubernetes, on the test cluster: how its worker pods
/// ended, and its dashboard.
@Suite(.serialized, .timeLimit(.minutes(5))) struct KubeObservabilityTests {
    func write(_ c: KubesimCluster, _ name: String, _ text: String) throws -> String {
        let path = c.dir.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A task kills its worker (the pod's `dask worker --no-nanny`, under a shell that exits
    /// with its status, 128+9, as a container runtime reports a killed process); the scheduler
    /// allows no failure, so Dask gives the task up (KilledWorker) naming that worker. (The run
    /// ends with it, before a periodic check would say the pod ended: KubeDaskClusterTests.)
    @Test func aTaskLostWithItsWorkerPodSaysHowThePodEnded() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        _ = try write(c, "scheduler.yaml", """
            kind: Pod
            spec:
              containers:
                - name: dask-scheduler
                  args: [dask, scheduler, --port, "8786", --dashboard-address, ":8787"]
                  env: [{ name: DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES, value: "0" }]
            """)
        _ = try write(c, "worker.yaml", """
            kind: Pod
            spec:
              containers:
                - name: dask-worker
                  command: [sh, -c, "dask worker --no-nanny --nthreads 1 --no-dashboard --death-timeout 60; exit $?"]
            """)
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
}
