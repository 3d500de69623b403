import DKCore
import DKKube
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The user's side of a flow run on Kubernetes: setup (the image pull secret), execute (the
/// payload's ConfigMap and the Job that runs the flow), then following the Job: its events
/// reported as this run's, its pods shown as they come and go, its exit code returned; and
/// at the end (or on Ctrl-C) the Job deleted with everything it owns.
public final class FlowRunLauncher {
    let client: KubeClient
    let plan: FlowRunPlan

    public init(client: KubeClient, plan: FlowRunPlan) {
        self.client = client
        self.plan = plan
    }

    /// Makes sure the pull secret exists (private_registry): made from the dkrun secret named
    /// by docker_secret when it does not; one that dkrun made for another run is shared.
    /// - Returns: the secret dkrun made or shares, to be owned by this run's Job too.
    func setup() throws -> String? {
        guard let source = plan.pullSecretSource else { return nil }
        if let existing = try? client.get(.secrets, source.name, namespace: plan.namespace) {
            return existing["metadata"]?["labels"]?[RunLabels.managedBy] == "dkrun" ? source.name : nil
        }
        let credentials: String
        do { credentials = try SecretStore.lookup(source.secret) } catch {
            throw FlowError("private_registry: the image pull secret \(source.name) does not exist in namespace "
                + "\(plan.namespace), and dkrun cannot make it: \(error)")
        }
        do {
            try client.create(try plan.pullSecret(credentials: credentials, from: source.secret), namespace: plan.namespace)
        } catch let e as KubeError where e.code == 409 {}  // another run made it just now
        return source.name
    }

    /// setup() and execute(): the objects exist and the Job runs.
    public func submit(payload: [UInt8], ttl: Int) throws {
        let configMap = try plan.payloadConfigMap(payload)
        let secret = try setup()
        try client.create(configMap, namespace: plan.namespace)
        let job: Value
        do {
            job = try client.create(plan.job(ttl: ttl), namespace: plan.namespace)
        } catch {
            _ = try? client.delete(.configMaps, plan.payloadName, namespace: plan.namespace)
            throw error
        }
        // Owned by the Job, they go with it, whoever deletes it (or its TTL).
        let owner = FlowRunPlan.jobOwner(name: plan.jobName, uid: job["metadata"]?["uid"]?.stringValue ?? "")
        try client.patch(.configMaps, plan.payloadName, namespace: plan.namespace, ["metadata": ["ownerReferences": [owner]]])
        if let secret {
            let current = try client.get(.secrets, secret, namespace: plan.namespace)
            let owners = (current["metadata"]?["ownerReferences"]?.arrayValue ?? []) + [owner]
            try client.patch(.secrets, secret, namespace: plan.namespace,
                             ["metadata": ["ownerReferences": .array(owners), "resourceVersion": current["metadata"]?["resourceVersion"] ?? ""]])
        }
    }

    /// Follows the run to its end; deletes the Job (and with it everything of the run).
    /// - Returns: the flow's exit code (0 success, 1 failed, 130 interrupted).
    public func follow(observer: RunObserver, startupTimeout: Double) -> Int32 {
        let follower = JobFollower(client: client, namespace: plan.namespace, runID: plan.runID, observer: observer)
        let code = follower.follow(startupTimeout: startupTimeout)
        let cleanup = RunCleanup(client: client, namespace: plan.namespace)
        cleanup.delete(run: plan.runID)
        let left = cleanup.podsLeft(run: plan.runID)
        observer.handle(.log(nil, left == 0 ? .info : .warning, left == 0 ? "flow run \(plan.runID): nothing of it is left on the cluster"
            : "flow run \(plan.runID): \(left) pod(s) still terminating (dkrun k8s cleanup \(RunLabels.short(plan.runID)))", time: Clock.wall()))
        return code
    }
}

/// Follows the pod of a run's Job: waits for it to start (or fails with why it cannot),
/// streams its log, whose JSON event lines become run events, and reads its exit code.
/// Ctrl-C deletes the Job, whose pod then cancels the run and deletes its cluster.
public final class JobFollower: @unchecked Sendable {
    let client: KubeClient
    let namespace: String
    let runID: String
    let observer: RunObserver

    public init(client: KubeClient, namespace: String, runID: String, observer: RunObserver) {
        self.client = client
        self.namespace = namespace
        self.runID = runID
        self.observer = observer
    }

    private func say(_ text: String, _ level: LogLevel = .info) {
        observer.handle(.log(nil, level, text, time: Clock.wall()))
    }

    /// - Parameter follow: false: print what the log holds now and return.
    public func follow(startupTimeout: Double, follow: Bool = true) -> Int32 {
        let pod: String
        switch waitForPod(startupTimeout: startupTimeout) {
        case .failure(let message):
            say(message, .error)
            return Interruption.requested ? 130 : 1
        case .success(let name):
            pod = name
        }
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            streamLog(pod, follow: follow)
            done.signal()
        }
        thread.start()
        var deleted = false
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if Interruption.requested && !deleted {
                say("interrupted: deleting the flow run's Job (its pod cancels the run and deletes the Dask cluster)", .warning)
                _ = try? client.delete(.jobs, FlowRunPlan.jobName(run: runID), namespace: namespace)
                deleted = true
            }
        }
        if Interruption.requested || deleted { return 130 }
        guard follow else { return 0 }
        return exitCode(pod)
    }

    /// Renders the pod's log line by line. A followed stream that ends while the pod still
    /// runs (a proxy's timeout, a dropped connection) is opened again, skipping the lines
    /// already shown (a container's log only grows, until the kubelet rotates it).
    private func streamLog(_ pod: String, follow: Bool) {
        var shown = 0
        var failures = 0
        while true {
            let lines = LineBuffer()
            var skip = shown
            let render = { (line: [UInt8]) -> Bool in
                if skip > 0 {
                    skip -= 1
                } else {
                    Self.render(String(decoding: line, as: UTF8.self), to: self.observer)
                    shown += 1
                }
                return true
            }
            do {
                _ = try client.logs(pod, namespace: namespace, follow: follow) { bytes in lines.feed(bytes, render) }
                failures = 0
            } catch {
                failures += 1
            }
            var ended = false
            do {
                ended = PodProblems.termination(try client.get(.pods, pod, namespace: namespace)) != nil
            } catch let e as KubeError where e.code == 404 {
                ended = true
            } catch {
                failures += 1
            }
            if !follow || ended || Interruption.requested || failures > 5 {
                // A last line without a newline, once nothing more can come.
                if let last = lines.finish(), skip == 0 { _ = render(last) }
                return
            }
            if failures > 0 { usleep(UInt32(200_000 * failures)) }
        }
    }

    enum PodWait { case success(String), failure(String) }

    private func waitForPod(startupTimeout: Double) -> PodWait {
        let deadline = Clock.monotonic() + startupTimeout
        let selector = RunLabels.selector(run: runID, component: "job")
        while !Interruption.requested {
            do {
                let pods = try client.list(.pods, namespace: namespace, labelSelector: selector)["items"]?.arrayValue ?? []
                if let pod = pods.last {
                    let name = pod["metadata"]!["name"]!.stringValue!
                    let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
                    if phase != "Pending" { return .success(name) }
                    if let reason = PodProblems.hopelessReason(pod) {
                        return .failure("the flow run's pod \(name) cannot start: \(reason)"
                            + PodProblems.describe(client, pod: name, namespace: namespace))
                    }
                    if Clock.monotonic() > deadline {
                        return .failure("the flow run's pod \(name) did not start within \(Int(startupTimeout)) s: "
                            + PodProblems.pendingReason(pod) + PodProblems.describe(client, pod: name, namespace: namespace))
                    }
                } else if Clock.monotonic() > deadline {
                    return .failure("the flow run's Job made no pod within \(Int(startupTimeout)) s")
                }
            } catch {
                if Clock.monotonic() > deadline { return .failure("cannot follow the flow run: \(error)") }
            }
            usleep(200_000)
        }
        return .failure("interrupted")
    }

    private func exitCode(_ pod: String) -> Int32 {
        let deadline = Clock.monotonic() + 30
        while Clock.monotonic() < deadline {
            let current: Value
            do {
                current = try client.get(.pods, pod, namespace: namespace)
            } catch let e as KubeError where e.code == 404 {
                say("the flow run's pod \(pod) is gone before it finished", .error)
                return 1
            } catch {
                usleep(200_000)
                continue
            }
            if let t = PodProblems.termination(current) {
                switch t.code {
                case 0, 1, 2, 130: return Int32(t.code)
                default:
                    // A signal: kubelets say 128 + N, kubesim -N.
                    let how = t.code > 128 || t.code < 0 ? "was killed by signal \(abs(t.code) % 128)"
                        : "ended with exit code \(t.code)"
                    say("the flow run's pod \(pod) \(how) (\(t.reason)) before the flow finished"
                        + PodProblems.describe(client, pod: pod, namespace: namespace, logLines: 0), .error)
                    return 1
                }
            }
            usleep(200_000)
        }
        say("the flow run's pod \(pod) has not reported its exit code", .error)
        return 1
    }

    /// A log line of the Job's pod: a run event (the pod's dkrun writes them as JSON), or
    /// anything else the pod printed, shown as a log line of the run.
    static func render(_ line: String, to observer: RunObserver) {
        if line.hasPrefix("{"), let value = try? JSON.decode(Array(line.utf8)), let event = RunEvent(value: value) {
            observer.handle(event)
        } else if !line.isEmpty {
            observer.handle(.log(nil, .info, "[pod] " + line, time: Clock.wall()))
        }
    }
}

/// Deletes what a run left: its Job (and by owner references what the Job owns), and any
/// object with the run's labels, for runs that ended without cleaning up.
public struct RunCleanup {
    let client: KubeClient
    let namespace: String

    public init(client: KubeClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    /// Deletes, then waits up to `wait` seconds for the pods to be gone.
    /// - Parameter run: a run id, or nil for every run's objects.
    @discardableResult
    public func delete(run: String?, wait: Double = 60) -> [String] {
        let selector = run.map { RunLabels.selector(run: $0) } ?? RunLabels.allRuns
        var deleted: [String] = []
        for resource in [KubeResource.jobs, .pods, .services, .podDisruptionBudgets, .configMaps, .secrets] {
            let items = (try? client.list(resource, namespace: namespace, labelSelector: selector))?["items"]?.arrayValue ?? []
            for item in items {
                guard let name = item["metadata"]?["name"]?.stringValue, item["metadata"]?["deletionTimestamp"] == nil else { continue }
                // A pull secret other runs still own stays until the last of them ends.
                if resource == .secrets, run != nil, (item["metadata"]?["ownerReferences"]?.arrayValue?.count ?? 0) > 1 {
                    continue
                }
                if (try? client.delete(resource, name, namespace: namespace)) != nil { deleted.append("\(resource.plural)/\(name)") }
            }
        }
        let deadline = Clock.monotonic() + wait
        while Clock.monotonic() < deadline && podsLeft(run: run) != 0 { usleep(200_000) }
        return deleted
    }

    /// How many pods of the run (or of every run) exist; -1 when the API does not say.
    public func podsLeft(run: String?) -> Int {
        let selector = run.map { RunLabels.selector(run: $0) } ?? RunLabels.allRuns
        return (try? client.list(.pods, namespace: namespace, labelSelector: selector))?["items"]?.arrayValue?.count ?? -1
    }
}
