import DKCore
import DKDask
import DKKube
#if canImport(Glibc)
import Glibc
#endif

/// The Dask cluster of one flow run, as pods: started from its spec (scheduler pod and
/// Service, then the first workers), each worker group sized while the run goes on between
/// its minimum and maximum from what the scheduler has to run (retiring workers before their
/// pods go, and replacing dead ones to keep the minimum), and deleted at the end. Pods that cannot
/// start end the run with their events and last log lines.
///
/// Its state is what the API says: the worker pods are those carrying the run's labels,
/// listed again on every check, so a create retried after a dropped connection, or a pod
/// deleted by someone else, is seen as it is.
public final class KubeDaskCluster: WorkerScaling {
    let client: KubeAPI
    let spec: DaskClusterSpec
    let observer: RunObserver?
    /// `tcp://<Service cluster IP>:8786`, once started.
    public private(set) var schedulerAddress = ""

    private var workerPods: [KubeObject] = []
    private var schedulerPod: KubeObject?
    /// Worker pods seen among the scheduler's workers, and how many pods in a row ended
    /// without ever joining it.
    private var joined: Set<String> = []
    private var endedBeforeJoining = 0
    private var lastCheck = 0.0
    private var listFailingSince: Double?
    /// By group: how many reports in a row wanted fewer workers, and whether some are being retired.
    private var reportsWantingFewer: [String: Int] = [:]
    private var retiring: Set<String> = []
    private var announced: [String: String] = [:]
    private var reportedEvents: Set<String> = []
    private var losses = WorkerLosses()
    private let user: String
    private let environment: [String: String]
    private let clock: () -> Double
    private let isCancelling: () -> Bool

    /// How long the API may fail in a row before the run gives up on the cluster.
    static let apiPatience = 60.0
    /// How many worker pods may end in a row without joining the scheduler.
    static let failedStartsAllowed = 3
    /// How long a lost task's failure waits for the kubelet to say how its worker's pod ended.
    static let endingPatience = 5.0

    /// - Parameters:
    ///   - clock: monotonic seconds, which pace `check()` (once a second) and measure how long
    ///     the API has failed.
    ///   - isCancelling: whether the run is being cancelled (Ctrl-C, or SIGTERM when its Job
    ///     is deleted): the cluster then stops waiting for the scheduler, and neither checks it
    ///     nor replaces lost workers.
    public init(client: KubeAPI, spec: DaskClusterSpec, observer: RunObserver?, environment: [String: String],
                clock: @escaping () -> Double = Clock.monotonic, isCancelling: @escaping () -> Bool = { Interruption.requested }) {
        self.client = client
        self.spec = spec
        self.observer = observer
        self.environment = environment
        self.clock = clock
        self.isCancelling = isCancelling
        user = DaskClusterSpec.user(environment: environment)
    }

    private func say(_ text: String, _ level: LogLevel = .info) {
        observer?.handle(.log(nil, level, text, time: Clock.wall()))
    }

    // MARK: Start and stop

    /// Makes the scheduler pod and Service, waits for the scheduler to run, and makes the
    /// first workers (the spec's replicas, else the minimum).
    public func start() throws {
        for note in spec.notes { say("cluster: " + note, note.hasPrefix("warning:") ? .warning : .info) }
        let scheduler = spec.schedulerPod()
        try createOnce(scheduler)
        let service = try createOnce(spec.schedulerService())
        try createOnce(spec.schedulerDisruptionBudget())
        guard let ip = service.spec?["clusterIP"]?.stringValue else {
            throw RunFailure("the scheduler's Service \(spec.schedulerName) has no cluster IP")
        }
        schedulerAddress = "tcp://\(ip):\(DaskClusterSpec.schedulerPort)"
        say("Dask scheduler pod \(spec.schedulerName) created; workers scale between \(spec.minWorkers) and \(spec.maxWorkers)"
            + spec.groups.map { ", group \($0.name) between \($0.minWorkers) and \($0.maxWorkers)" }.joined())
        try waitForScheduler()
        say("Dask dashboard through the API server: kubectl proxy, then http://127.0.0.1:8001"
            + spec.dashboardProxyPath + "status")
        try refreshWorkers()
        for group in groups { try addWorkers(group.minWorkers - liveWorkers(group).count, group) }
    }

    /// The default workers, then the named groups.
    private var groups: [WorkerGroup] { [spec.defaultGroup] + spec.groups }

    /// Waits for the scheduler pod to run. The deadline counts only once the pod can be read,
    /// as the failure describes it.
    private func waitForScheduler() throws {
        let deadline = clock() + spec.startupTimeout
        let running = try Poll.until(deadline: nil, stop: isCancelling) { () throws -> Bool? in
            guard let pod = try? client.get(.pods, spec.schedulerName, namespace: spec.namespace) else { return nil }
            let phase = pod.phase
            if phase == "Running" { return true }
            if let reason = PodProblems.hopelessReason(pod) ?? (phase == "Failed" || phase == "Succeeded"
                ? "it ended (\(PodProblems.termination(pod).map { "exit code \($0.code)" } ?? phase!))" : nil) {
                throw failure("the Dask scheduler pod \(spec.schedulerName) cannot start: \(reason)", pod: spec.schedulerName)
            }
            if clock() > deadline {
                throw failure("the Dask scheduler pod \(spec.schedulerName) did not start within \(Numbers.clamped(spec.startupTimeout, to: Int.self)) s "
                    + "(startup_timeout): \(PodProblems.pendingReason(pod))", pod: spec.schedulerName)
            }
            return nil
        }
        if running == nil { throw RunFailure("interrupted while the Dask scheduler was starting") }
    }

    /// Deletes the workers, the scheduler and its Service. Owner references would remove
    /// them with the Job anyway; this removes them as soon as the run ends.
    public func shutdown() {
        if spec.schedulerLogs,
           let log = try? client.logs(spec.schedulerName, namespace: spec.namespace, tailLines: 500, follow: false, onData: nil) {
            for line in String(decoding: log, as: UTF8.self).split(separator: "\n") { say("[scheduler] " + line) }
        }
        let workers = RunLabels.selector(run: spec.runID, component: "worker")
        for attempt in 0 ..< 3 {
            do {
                try client.deleteCollection(.pods, namespace: spec.namespace, labelSelector: workers)
                _ = try? client.delete(.pods, spec.schedulerName, namespace: spec.namespace)
                _ = try? client.delete(.services, spec.schedulerName, namespace: spec.namespace)
                _ = try? client.delete(.podDisruptionBudgets, spec.schedulerName, namespace: spec.namespace)
                say("Dask cluster deleted (scheduler, its Service and disruption budget, every worker pod)")
                return
            } catch {
                say("cannot delete the Dask cluster's pods yet: \(error)", .warning)
                usleep(UInt32(500_000 * (attempt + 1)))
            }
        }
    }

    /// Creates an object with a fixed name, retrying when the API fails; one already made by
    /// an earlier attempt whose answer was lost is taken as it is.
    @discardableResult
    private func createOnce(_ object: Value) throws -> KubeObject {
        let manifest = KubeObject(object)
        let resource = try client.resource(apiVersion: manifest.apiVersion ?? "", kind: manifest.kind ?? "")
        var attempt = 0
        while true {
            do {
                return try client.create(object, namespace: spec.namespace)
            } catch let e as KubeError where e.code == 409 {
                return try client.get(resource, manifest.name, namespace: spec.namespace)
            } catch let e as KubeError where e.code >= 500 && attempt < 5 {
                attempt += 1
                usleep(UInt32(200_000 * attempt))
            }
        }
    }

    // MARK: Workers

    /// Lists the run's pods: the workers (not being deleted) and the scheduler.
    private func refreshWorkers() throws {
        let pods = try client.list(.pods, namespace: spec.namespace, labelSelector: RunLabels.selector(run: spec.runID),
                                   fieldSelector: nil).items
        workerPods = pods.filter { $0.labels[RunLabels.component] == "worker" && !$0.isBeingDeleted }
        schedulerPod = pods.first { $0.labels[RunLabels.component] == "scheduler" }
    }

    /// The group's pods that run or may still run.
    private func liveWorkers(_ group: WorkerGroup) -> [KubeObject] {
        workerPods.filter { Self.group(of: $0) == group.name && ["Pending", "Running"].contains($0.phase ?? "Pending") }
    }

    private static func group(of pod: KubeObject) -> String { pod.labels[WorkerGroup.label] ?? WorkerGroup.defaultName }

    private func addWorkers(_ count: Int, _ group: WorkerGroup) throws {
        guard count > 0 else { return }
        let named = group.name == WorkerGroup.defaultName ? nil : group
        for _ in 0 ..< count {
            let name = spec.newWorkerName(user: user, environment: environment)
            let pod = try client.create(spec.workerPod(name: name, schedulerAddress: schedulerAddress, group: named),
                                        namespace: spec.namespace)
            workerPods.append(pod)
            say("worker pod \(name) created (\(liveWorkers(group).count) of at most \(group.maxWorkers)"
                + (named.map { " in group \($0.name))" } ?? ")"))
        }
    }

    // MARK: WorkerScaling

    public var reportInterval: Double { spec.reportInterval }

    public func observe(_ demand: WorkerDemand, workers: [String]) throws -> [RetireRequest] {
        let hosts = Set(workers.compactMap(Self.host))
        // A worker that joined since the pods were listed: its pod may have had no IP then, and
        // may die before the next report (a pod that never joined counts as a failed start).
        if !hosts.isSubset(of: workerPods.compactMap(\.podIP)) { try? refreshWorkers() }
        var groupOfHost: [String: String] = [:]
        for pod in workerPods {
            guard let ip = pod.podIP, hosts.contains(ip) else { continue }
            groupOfHost[ip] = Self.group(of: pod)
            if joined.insert(pod.name).inserted { endedBeforeJoining = 0 }
        }
        let wanted = demand.wanted(groups: spec.groups)
        return groups.compactMap { group in
            // A worker whose pod is not listed yet counts as a default one.
            let members = workers.filter { Self.host($0).flatMap { groupOfHost[$0] } ?? WorkerGroup.defaultName == group.name }
            return scale(group, wanting: wanted[group.name] ?? 0, members: members)
        }
    }

    /// Adds pods to a group that wants more workers than it has, or asks to retire some of its
    /// workers once it has wanted fewer for `scaleDownReports` reports in a row.
    /// - Parameter members: the scheduler's workers that are the group's.
    private func scale(_ group: WorkerGroup, wanting target: Int, members: [String]) -> RetireRequest? {
        let named = group.name != WorkerGroup.defaultName
        let who = named ? "worker group \(group.name): \(target) worker(s) wanted for the tasks that need its resources"
            : "the scheduler wants \(target) worker(s)"
        let wanted = min(max(target, group.minWorkers), group.maxWorkers)
        let live = liveWorkers(group).count
        if wanted > live {
            reportsWantingFewer[group.name] = 0
            say("\(who): scaling up to \(wanted)")
            do { try addWorkers(wanted - live, group) } catch {
                say("cannot create a worker pod now (will try again): \(error)", .warning)
            }
        } else if wanted < live && wanted < members.count && !retiring.contains(group.name) {
            reportsWantingFewer[group.name, default: 0] += 1
            if reportsWantingFewer[group.name, default: 0] >= spec.scaleDownReports {
                reportsWantingFewer[group.name] = 0
                retiring.insert(group.name)
                let count = min(live, members.count) - wanted
                say("\(who): retiring \(count)")
                // Without named groups, Dask chooses among all workers, as its Adaptive does.
                return RetireRequest(group: group.name, count: count, among: spec.groups.isEmpty ? nil : members)
            }
        } else {
            reportsWantingFewer[group.name] = 0
        }
        return nil
    }

    public func retired(_ workers: [String], group: String) throws {
        retiring.remove(group)
        let hosts = Set(workers.compactMap(Self.host))
        for pod in workerPods where hosts.contains(pod.podIP ?? "") {
            do {
                try client.delete(.pods, pod.name, namespace: spec.namespace)
                say("worker pod \(pod.name) deleted (retired by the scheduler)")
            } catch {
                say("cannot delete retired worker pod \(pod.name): \(error)", .warning)
            }
        }
        try? refreshWorkers()
    }

    /// `tcp://10.0.0.5:40123` → `10.0.0.5`.
    static func host(_ address: String) -> String? {
        guard let scheme = address.firstRange(of: "://") else { return nil }
        let rest = address[scheme.upperBound...]
        return rest.lastIndex(of: ":").map { String(rest[..<$0]) }
    }

    public func check() throws {
        let now = clock()
        guard now - lastCheck >= 1 else { return }
        lastCheck = now
        do {
            try refreshWorkers()
            listFailingSince = nil
        } catch {
            let since = listFailingSince ?? now
            listFailingSince = since
            if now - since > Self.apiPatience {
                throw RunFailure("the Kubernetes API has failed for \(Int(Self.apiPatience)) s while following the Dask cluster: \(error)")
            }
            return
        }
        if !isCancelling() { try checkScheduler() }
        for pod in workerPods { try checkWorker(pod) }
        if spec.logKubernetesErrors { reportWarnings() }
        // Once the run is being cancelled (its Job deleted, say) lost workers stay lost.
        for group in groups where !isCancelling() {
            let live = liveWorkers(group).count
            guard live < group.minWorkers else { continue }
            say("\(live) live worker pod(s)\(group.name == WorkerGroup.defaultName ? "" : " in group \(group.name)"), "
                + "fewer than the minimum \(group.minWorkers): replacing")
            do { try addWorkers(group.minWorkers - live, group) } catch {
                say("cannot create a worker pod now (will try again): \(error)", .warning)
            }
        }
    }

    private func checkWorker(_ pod: KubeObject) throws {
        let name = pod.name
        let phase = pod.phase ?? "Pending"
        if let reason = PodProblems.hopelessReason(pod) {
            throw failure("worker pod \(name) cannot start: \(reason)", pod: name)
        }
        switch phase {
        case "Pending":
            let created = pod.creationTime ?? Clock.wall()
            if Clock.wall() - created > spec.startupTimeout {
                throw failure("worker pod \(name) did not start within \(Numbers.clamped(spec.startupTimeout, to: Int.self)) s (startup_timeout): "
                    + PodProblems.pendingReason(pod), pod: name)
            }
        case "Running":
            if announced[name] != "Running" { say("worker pod \(name) running at \(pod.podIP ?? "?")") }
        default:
            let ended = losses.record(pod)
            if !joined.contains(name) {
                // Pods that keep dying before they reach the scheduler would be replaced for ever.
                endedBeforeJoining += 1
                if endedBeforeJoining >= Self.failedStartsAllowed {
                    throw failure("worker pods keep ending before they join the scheduler (\(endedBeforeJoining) in a row); "
                        + "the last: \(ended)", pod: name)
                }
            }
            say("\(ended): deleting it", .warning)
            _ = try? client.delete(.pods, name, namespace: spec.namespace)
        }
        announced[name] = phase
    }

    public func whyLost(_ failure: String) -> String? {
        let hosts = Set(WorkerLosses.hosts(in: failure))
        guard !hosts.isEmpty else { return nil }
        // Dask may see the worker go before the kubelet has written how its pod ended.
        _ = Poll.until(deadline: Clock.monotonic() + Self.endingPatience, stop: isCancelling) { () -> Bool? in
            try? refreshWorkers()
            let named = workerPods.filter { hosts.contains($0.podIP ?? "") }
            for pod in named where !["Pending", "Running"].contains(pod.phase ?? "Pending") { losses.record(pod) }
            return named.allSatisfy { !["Pending", "Running"].contains($0.phase ?? "Pending") } ? true : nil
        }
        return losses.explain(failure)
    }

    public func checkCause() throws {
        try refreshWorkers()
        if !isCancelling() { try checkScheduler() }
    }

    /// The scheduler gone mid-run ends the run now, with why (the driver would only notice
    /// after its connect timeout).
    private func checkScheduler() throws {
        guard let pod = schedulerPod, !pod.isBeingDeleted else {
            throw RunFailure("the Dask scheduler pod \(spec.schedulerName) was deleted during the run")
        }
        if PodProblems.termination(pod) != nil, pod.phase != "Running" {
            throw failure("the Dask scheduler pod \(spec.schedulerName) \(PodProblems.ending(pod)) during the run", pod: spec.schedulerName)
        }
    }

    /// The Warning events of the run's pods not reported yet (log_k8s_errors).
    private func reportWarnings() {
        let pods = Set(workerPods.map(\.name) + [spec.schedulerName])
        guard let events = try? client.list(.events, namespace: spec.namespace, labelSelector: nil, fieldSelector: "type=Warning")
        else { return }
        for e in events.items {
            guard let uid = e.uid, !reportedEvents.contains(uid), let pod = e.involvedObjectName, pods.contains(pod) else { continue }
            reportedEvents.insert(uid)
            say("Kubernetes: pod \(pod): \(e.reason ?? ""): \(e.message ?? "")", .warning)
        }
    }

    private func failure(_ headline: String, pod: String) -> RunFailure {
        RunFailure(headline + PodProblems.describe(client, pod: pod, namespace: spec.namespace))
    }
}

/// Runs a flow on a Dask cluster made for it on Kubernetes: the cluster is started, the run
/// goes through the Dask driver with the cluster sizing itself, and the cluster is deleted
/// whatever way the run ends.
public final class KubeClusterRunner: ClusterRunner {
    let client: KubeClient
    let spec: DaskClusterSpec
    let environment: [String: String]

    public init(client: KubeClient, spec: DaskClusterSpec, environment: [String: String]) {
        self.client = client
        self.spec = spec
        self.environment = environment
    }

    public func run(graph: FlowGraph, payload: [UInt8], context: FlowRunContext, settings: Value,
                    observer: RunObserver?) throws -> FlowRunResult {
        let cluster = KubeDaskCluster(client: client, spec: try ownedSpec(), observer: observer, environment: environment)
        defer { cluster.shutdown() }
        try cluster.start()
        var settings = settings
        settings["address"] = .text(cluster.schedulerAddress)
        settings["cluster_class"] = nil
        settings["cluster_kwargs"] = nil
        settings["adapt_kwargs"] = nil
        settings["custom_cluster_spec"] = nil
        return try DaskRunner(scaling: cluster).run(graph: graph, payload: payload, context: context, settings: settings,
                                                    observer: observer)
    }

    /// The spec with the cluster's pods owned by the run's Job (so that Kubernetes removes
    /// them with it).
    private func ownedSpec() throws -> DaskClusterSpec {
        var spec = spec
        if let job = environment["DKRUN_JOB_NAME"] {
            spec.owner = FlowRunPlan.jobOwner(name: job, uid: try client.get(.jobs, job).uid ?? "")
        }
        return spec
    }
}
