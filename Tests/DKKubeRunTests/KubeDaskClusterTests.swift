import DKCore
import DKDask
import DKTestSupport
@testable import DKKube
@testable import DKKubeRun
import Testing

extension KubeDaskCluster {
    /// A report of Dask's target alone (no task with resources): how many workers to retire.
    func observe(target: Int, workers: [String]) throws -> Int {
        try observe(WorkerDemand(target: target), workers: workers).reduce(0) { $0 + $1.count }
    }

    func retired(_ workers: [String]) throws { try retired(workers, group: WorkerGroup.defaultName) }
}

/// A cluster on a fake API server, with a clock that moves only when told, so that each
/// `check()` runs (it paces itself to once a second) without the test waiting.
final class Harness {
    let kube = FakeKube()
    let clock = TestClock()
    let said = Said()
    var cancelling = false
    private(set) var cluster: KubeDaskCluster!
    private var nextIP = 0

    init(min: Int, max: Int, configure: (inout DaskClusterSpec) -> Void = { _ in }) {
        var spec = DaskClusterSpec(runID: "0123abcd-4567-89ef-0123-456789abcdef", namespace: "flows", image: "dkrun:test",
                                   minWorkers: min, maxWorkers: max)
        configure(&spec)
        cluster = KubeDaskCluster(client: kube, spec: spec, observer: said, environment: ["USER": "tester"],
                                  clock: { [clock] in clock.now }, isCancelling: { [unowned self] in cancelling })
    }

    /// A cluster started: its scheduler running, its first workers made.
    static func started(min: Int, max: Int, configure: (inout DaskClusterSpec) -> Void = { _ in }) throws -> Harness {
        let h = Harness(min: min, max: max, configure: configure)
        try h.cluster.start()
        return h
    }

    var scheduler: String { cluster.spec.schedulerName }
    var workers: [String] { kube.pods("worker").map(\.name) }
    var creates: Int { kube.calls.filter { $0.hasPrefix("create pods/") }.count }

    /// Runs every Pending worker pod, each at an address of its own, and lets the cluster's
    /// next check see them.
    /// - Returns: the running workers' addresses, as the scheduler names them.
    func runWorkers() throws -> [String] {
        for pod in kube.pods("worker") where pod.phase == "Pending" {
            nextIP += 1
            kube.setStatus(of: pod.name, ["phase": "Running", "podIP": .text("10.0.1.\(nextIP)")])
        }
        try check()
        return kube.pods("worker").filter { $0.phase == "Running" }.map { "tcp://\($0.podIP!):40000" }
    }

    /// Ends a worker's container, as the kubelet reports it (the pod keeps its address).
    func end(_ pod: String, phase: String = "Failed", exitCode: Int64 = 1, reason: String = "Error") {
        var status: Value = ["phase": .text(phase),
                             "containerStatuses": [["name": "dask-worker",
                                                    "state": ["terminated": ["exitCode": .int(exitCode), "reason": .text(reason)]]]]]
        status["podIP"] = kube.pods("worker").first { $0.name == pod }?.podIP.map(Value.text)
        kube.setStatus(of: pod, status)
    }

    /// A second later: the cluster's periodic check.
    func check() throws {
        clock.now += 1
        try cluster.check()
    }

    /// The cluster's check, expected to end the run.
    func checkFails() -> String? {
        do {
            try check()
            return nil
        } catch {
            return "\(error)"
        }
    }
}

@Suite struct KubeDaskClusterTests {
    @Test func startMakesTheSchedulerThenTheMinimum() throws {
        let h = try Harness.started(min: 2, max: 5)
        let scheduler = h.scheduler
        #expect(h.kube.calls.prefix(5) == ["create pods/\(scheduler)", "create services/\(scheduler)",
                                           "create poddisruptionbudgets/\(scheduler)", "get pods/\(scheduler)", "list pods"])
        #expect(h.workers.count == 2 && h.workers.allSatisfy { $0.hasPrefix("dask-tester-") })
        #expect(h.cluster.schedulerAddress == "tcp://10.96.0.10:8786")
    }

    /// Objects of the cluster that exist already (an earlier attempt made them, and its
    /// answer was lost) are taken as they are.
    @Test func whatAnEarlierAttemptMadeIsTaken() throws {
        let h = Harness(min: 1, max: 1)
        try h.kube.create(h.cluster.spec.schedulerService(), namespace: "flows")
        try h.cluster.start()
        #expect(h.kube.calls.filter { $0.hasSuffix("services/\(h.scheduler)") }
                == ["create services/\(h.scheduler)", "create services/\(h.scheduler)", "get services/\(h.scheduler)"])
        #expect(h.cluster.schedulerAddress == "tcp://10.96.0.10:8786")
    }

    @Test func aSchedulerThatCannotStartFailsTheStart() throws {
        let h = Harness(min: 1, max: 1)
        h.kube.schedulerStatus = ["phase": "Pending", "containerStatuses": [
            ["name": "dask-scheduler", "state": ["waiting": ["reason": "ErrImageNeverPull", "message": "never"]]]]]
        #expect(throws: RunFailure("the Dask scheduler pod \(h.scheduler) cannot start: ErrImageNeverPull: never")) {
            try h.cluster.start()
        }
        #expect(h.workers.isEmpty)
    }

    @Test func cancellingStopsTheWaitForTheScheduler() throws {
        let h = Harness(min: 1, max: 1)
        h.kube.schedulerStatus = ["phase": "Pending"]
        h.cancelling = true
        #expect(throws: RunFailure("interrupted while the Dask scheduler was starting")) { try h.cluster.start() }
        #expect(!h.kube.calls.contains("get pods/\(h.scheduler)"))
    }

    /// The scheduler wants more: workers are added at once, up to the maximum.
    @Test(arguments: [
        (min: 1, max: 5, target: 3, live: 3),
        (min: 1, max: 3, target: 10, live: 3),
        (min: 2, max: 5, target: 0, live: 2),
        (min: 1, max: 5, target: 1, live: 1),
    ])
    func scalingUp(min: Int, max: Int, target: Int, live: Int) throws {
        let h = try Harness.started(min: min, max: max)
        let workers = try h.runWorkers()
        #expect(try h.cluster.observe(target: target, workers: workers) == 0)
        #expect(h.workers.count == live)
    }

    /// The scheduler wants fewer: only after `scaleDownReports` reports in a row, then as
    /// many as it has beyond what it wants (never below the minimum), once until they are
    /// retired.
    @Test(arguments: [
        (targets: [1, 1, 1], joined: 4, retire: [0, 0, 3]),
        (targets: [2, 2, 2], joined: 4, retire: [0, 0, 2]),
        (targets: [0, 0, 0], joined: 4, retire: [0, 0, 3]),
        (targets: [1, 1, 4, 1, 1], joined: 4, retire: [0, 0, 0, 0, 0]),
        (targets: [1, 1, 1, 1, 1, 1], joined: 4, retire: [0, 0, 3, 0, 0, 0]),
        // Pods the scheduler has not seen yet are not counted as workers to retire.
        (targets: [1, 1, 1], joined: 2, retire: [0, 0, 1]),
        (targets: [1, 1, 1], joined: 1, retire: [0, 0, 0]),
    ])
    func scalingDown(targets: [Int], joined: Int, retire: [Int]) throws {
        let h = try Harness.started(min: 1, max: 4) { $0.scaleDownReports = 3 }
        _ = try h.cluster.observe(target: 4, workers: try h.runWorkers())
        let workers = Array(try h.runWorkers().prefix(joined))
        #expect(try targets.map { try h.cluster.observe(target: $0, workers: workers) } == retire)
        #expect(h.workers.count == 4)  // pods go only once the scheduler has retired their workers
    }

    @Test func retiredWorkersPodsAreDeletedByTheirAddress() throws {
        let h = try Harness.started(min: 1, max: 3) { $0.scaleDownReports = 1 }
        _ = try h.cluster.observe(target: 3, workers: try h.runWorkers())
        let workers = try h.runWorkers()
        #expect(try h.cluster.observe(target: 1, workers: workers) == 2)
        #expect(try h.cluster.observe(target: 1, workers: workers) == 0)  // retiring already
        let kept = h.workers[0]
        try h.cluster.retired(Array(workers.dropFirst()))
        #expect(h.workers == [kept])
        #expect(h.said.lines.suffix(2).allSatisfy { $0.hasSuffix("deleted (retired by the scheduler)") })
        // Retired, the next report that wants fewer counts again.
        _ = try h.cluster.observe(target: 3, workers: try h.runWorkers())
        #expect(try h.cluster.observe(target: 1, workers: try h.runWorkers()) == 2)
    }

    /// A named group starts empty, grows from the tasks that need its resources only (not
    /// from Dask's target, nor from plain tasks), and goes back to its minimum once they are
    /// done; the default workers stay as they are.
    @Test func aWorkerGroupScalesFromTheTasksThatNeedItsResources() throws {
        let h = try Harness.started(min: 1, max: 3) {
            $0.scaleDownReports = 2
            $0.groups = [WorkerGroup(name: "gpu", minWorkers: 0, maxWorkers: 2, resources: ["GPU": 1], template: nil)]
        }
        func pods(_ group: String) -> [KubeObject] { h.kube.pods("worker").filter { $0.labels[WorkerGroup.label] == group } }
        #expect(pods("default").count == 1 && pods("gpu").isEmpty)
        let gpuTasks = WorkerDemand(target: 5, plain: 0, restricted: [.init(resources: ["GPU": 1], count: 4)])
        #expect(try h.cluster.observe(gpuTasks, workers: try h.runWorkers()) == [])
        #expect(pods("gpu").count == 2 && pods("default").count == 1)
        let args = pods("gpu")[0].spec?["containers"]?.arrayValue?.first?["args"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        #expect(args.suffix(2) == ["--resources", "GPU=1"])
        let workers = try h.runWorkers()
        let gpuWorkers = pods("gpu").map { "tcp://\($0.podIP!):40000" }
        let done = WorkerDemand(target: 0)
        #expect(try h.cluster.observe(done, workers: workers) == [])
        #expect(try h.cluster.observe(done, workers: workers) == [RetireRequest(group: "gpu", count: 2, among: gpuWorkers)])
        try h.cluster.retired(gpuWorkers, group: "gpu")
        #expect(pods("gpu").isEmpty && pods("default").count == 1)
        // Plain tasks grow the default workers only.
        _ = try h.cluster.observe(WorkerDemand(target: 3, plain: 3), workers: try h.runWorkers())
        #expect(pods("gpu").isEmpty && pods("default").count == 3)
    }

    /// Workers that end are deleted, and replaced to keep the minimum, unless the run is
    /// being cancelled.
    @Test(arguments: [("Failed", false), ("Succeeded", false), ("Failed", true)])
    func deadWorkersAreDeletedAndReplaced(phase: String, cancelling: Bool) throws {
        let h = try Harness.started(min: 2, max: 2)
        _ = try h.cluster.observe(target: 2, workers: try h.runWorkers())
        let dead = h.workers[0]
        h.end(dead, phase: phase)
        h.cancelling = cancelling
        let creates = h.creates
        try h.check()
        #expect(h.kube.calls.contains("delete pods/\(dead)") && !h.workers.contains(dead))
        #expect(h.said.lines.contains("WARNING worker pod \(dead) ended with Error (exit 1): deleting it"))
        #expect(h.creates == creates + (cancelling ? 0 : 1))
        #expect(h.said.lines.contains("INFO 1 live worker pod(s), fewer than the minimum 2: replacing") == !cancelling)
    }

    /// Dask names the last worker a lost task ran on (KilledWorker); the cluster says how that
    /// worker's pod ended, whether its check has seen the pod end yet or not.
    @Test(arguments: [true, false])
    func aTaskLostWithItsWorkerIsToldHowThePodEnded(checkedFirst: Bool) throws {
        let h = try Harness.started(min: 2, max: 2)
        let addresses = try h.runWorkers()
        let (dead, other) = (h.workers[0], h.workers[1])
        h.end(dead, exitCode: 137, reason: "OOMKilled")
        h.end(other, exitCode: 143)
        if checkedFirst { try h.check() }
        let lost = "KilledWorker: Attempted to run task 'x' on 1 different workers, but all those workers died while running it. "
            + "The last worker that attempt to run the task was \(addresses[0]). Inspecting worker logs is often a good next step."
        #expect(h.cluster.whyLost(lost) == "(worker pod \(dead) was OOMKilled (exit 137))")
        #expect(h.cluster.whyLost("the workers at \(addresses[1]) and \(addresses[0]) died")
                == "(worker pod \(other) was killed by signal 15 (exit 143); worker pod \(dead) was OOMKilled (exit 137))")
        #expect(h.cluster.whyLost("the task failed: TypeError: no address here") == nil)
        #expect(h.cluster.whyLost("could not reach tcp://192.0.2.1:8786") == nil)  // no pod of the run's
    }

    @Test func checksArePacedToOnceASecond() throws {
        let h = try Harness.started(min: 1, max: 1)
        try h.check()
        let calls = h.kube.calls.count
        try h.cluster.check()  // the same second: nothing asked
        #expect(h.kube.calls.count == calls)
        try h.check()
        #expect(h.kube.calls.count > calls)
    }

    @Test func aFailingAPIIsBorneForAMinute() throws {
        let h = try Harness.started(min: 1, max: 1)
        h.kube.listFailure = KubeError(verb: "list", resource: "pods", namespace: "flows", code: 503, status: nil)
        for _ in 0 ... 60 { try h.check() }  // the first failure, then 60 s of them
        #expect(h.checkFails() == "the Kubernetes API has failed for 60 s while following the Dask cluster: "
            + "list pods in namespace \"flows\": HTTP 503: ")
    }

    @Test func aWorkerThatCannotStartFailsTheRunWithItsEvents() throws {
        let h = try Harness.started(min: 1, max: 1)
        let pod = h.workers[0]
        h.kube.setStatus(of: pod, ["phase": "Pending", "containerStatuses": [
            ["name": "dask-worker", "state": ["waiting": ["reason": "ImagePullBackOff", "message": "Back-off pulling image"]]]]])
        h.kube.addWarning(about: pod, reason: "Failed", message: "pull access denied")
        h.kube.setLog(of: pod, "")
        #expect(h.checkFails() == "worker pod \(pod) cannot start: ImagePullBackOff: Back-off pulling image"
            + "\n  events of pod \(pod):\n    Warning Failed: pull access denied")
    }

    /// Workers that keep ending before they join the scheduler would be replaced for ever:
    /// the third in a row ends the run; one that joins starts the count again.
    @Test(arguments: [
        (joinedFirst: [false, false, false], failsAt: 2 as Int?),
        (joinedFirst: [false, false, true, false, false], failsAt: nil),
        (joinedFirst: [false, true, false, false, false], failsAt: 4),
    ])
    func workersThatEndBeforeJoiningEndTheRun(joinedFirst: [Bool], failsAt: Int?) throws {
        let h = try Harness.started(min: 1, max: 1)
        for (i, joins) in joinedFirst.enumerated() {
            let pod = h.workers[0]
            if joins { _ = try h.cluster.observe(target: 1, workers: try h.runWorkers()) }
            h.end(pod, exitCode: 2)
            guard let failure = h.checkFails() else { continue }
            #expect(i == failsAt)
            #expect(failure == "worker pods keep ending before they join the scheduler (3 in a row); the last: worker pod \(pod) "
                + "ended with Error (exit 2)")
            return
        }
        #expect(failsAt == nil)
    }

    @Test(arguments: ["removed", "being deleted"])
    func theSchedulerDeletedMidRunEndsTheRun(how: String) throws {
        let h = try Harness.started(min: 1, max: 1)
        if how == "removed" { h.kube.remove(.pods, h.scheduler) } else { h.kube.markDeleted(.pods, h.scheduler) }
        #expect(h.checkFails() == "the Dask scheduler pod \(h.scheduler) was deleted during the run")
    }

    @Test func theSchedulerEndedMidRunEndsTheRunWithItsLog() throws {
        let h = try Harness.started(min: 1, max: 1)
        h.kube.setStatus(of: h.scheduler, ["phase": "Failed", "containerStatuses": [
            ["name": "dask-scheduler", "state": ["terminated": ["exitCode": 137, "reason": "OOMKilled"]]]]])
        h.kube.setLog(of: h.scheduler, "distributed.scheduler - INFO - bye\n")
        #expect(h.checkFails() == "the Dask scheduler pod \(h.scheduler) was OOMKilled (exit 137) during the run"
            + "\n  last log lines of pod \(h.scheduler):\n    distributed.scheduler - INFO - bye")
    }

    @Test func aCancelledRunNeitherChecksTheSchedulerNorReplacesWorkers() throws {
        let h = try Harness.started(min: 1, max: 1)
        h.cancelling = true
        h.kube.remove(.pods, h.scheduler)
        h.end(h.workers[0])
        let creates = h.creates
        try h.check()
        #expect(h.creates == creates && h.workers.isEmpty)
    }

    @Test func warningEventsOfTheRunsPodsAreReportedOnce() throws {
        let h = try Harness.started(min: 1, max: 1) { $0.logKubernetesErrors = true }
        h.kube.addWarning(about: h.scheduler, reason: "BackOff", message: "slow")
        h.kube.addWarning(about: "someone-else", reason: "BackOff", message: "not ours")
        try h.check()
        try h.check()
        #expect(h.said.lines.filter { $0.hasPrefix("WARNING Kubernetes:") } == ["WARNING Kubernetes: pod \(h.scheduler): BackOff: slow"])
    }

    @Test func shutdownDeletesEveryPodOfTheRun() throws {
        let h = try Harness.started(min: 2, max: 2)
        h.cluster.shutdown()
        #expect(h.kube.pods("worker").isEmpty && h.kube.pods("scheduler").isEmpty)
        #expect(h.kube.calls.suffix(4) == [
            "deletecollection pods \(RunLabels.selector(run: h.cluster.spec.runID, component: "worker"))",
            "delete pods/\(h.scheduler)", "delete services/\(h.scheduler)", "delete poddisruptionbudgets/\(h.scheduler)",
        ])
    }

    /// The Dask config's worker template (a file in the image) is checked as the flow's
    /// worker spec is, before anything is made.
    @Test func theDaskConfigsWorkerTemplateIsChecked() throws {
        let path = repoRoot + "/Tests/Fixtures/bad-inputs/specs/worker-containers-5.yaml"
        let config = KubeConfig(server: "https://127.0.0.1:1", namespace: "flows", caData: nil, insecure: false, credentials: .none, origin: "test")
        let spec = DaskClusterSpec(runID: "0123abcd-4567-89ef-0123-456789abcdef", namespace: "flows", image: "dkrun:test", minWorkers: 1, maxWorkers: 1)
        let runner = KubeClusterRunner(client: KubeClient(config: config), spec: spec, environment: ["DASK_KUBERNETES__WORKER_TEMPLATE_PATH": path])
        let graph = try FlowGraph(FlowSpec(description: ["name": "f"]))
        #expect(throws: FlowError("\(path) (DASK_KUBERNETES__WORKER_TEMPLATE_PATH): spec.containers: a list of containers expected, got an integer")) {
            try runner.run(graph: graph, payload: [], context: FlowRunContext(flowName: "f", parameters: [:]), settings: [:], observer: nil)
        }
    }
}
