import DKCore
import DKKube
#if canImport(Glibc)
import Glibc
#endif

/// The user's side of a flow run on Kubernetes: setup (the image pull secret), execute (the
/// payload's ConfigMap, the Secret of the dkrun secrets the run takes along, and the Job that
/// runs the flow), then following the Job: its events
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
            return existing.labels[RunLabels.managedBy] == "dkrun" ? source.name : nil
        }
        let credentials: String
        do { credentials = try SecretStore.lookup(source.secret) } catch {
            throw RunFailure("private_registry: the image pull secret \(source.name) does not exist in namespace "
                + "\(plan.namespace), and dkrun cannot make it: \(error)")
        }
        do {
            try client.create(try plan.pullSecret(credentials: credentials, from: source.secret), namespace: plan.namespace)
        } catch let e as KubeError where e.code == 409 {}  // another run made it just now
        return source.name
    }

    /// How long Kubernetes keeps a finished run's Job (ttlSecondsAfterFinished): long enough
    /// for `dkrun k8s logs` after a detached run; a followed run's Job is deleted at its end anyway.
    public static func jobTTL(detached: Bool) -> Int { detached ? 3600 : 600 }

    /// setup() and execute(): the objects exist and the Job runs.
    /// - Parameters:
    ///   - secrets: the value of each of the plan's `secretNames`, for the run's Secret.
    ///   - ttl: `jobTTL(detached:)`.
    public func submit(payload: [UInt8], secrets: [String: String], ttl: Int) throws {
        let configMap = try plan.payloadConfigMap(payload)
        let pullSecret = try setup()
        // Made before the Job, whose pods mount them, and owned by it once it exists.
        var made: [(KubeResource, String)] = []
        do {
            try client.create(configMap, namespace: plan.namespace)
            made.append((.configMaps, plan.payloadName))
            if !plan.secretNames.isEmpty {
                try client.create(plan.runSecret(secrets), namespace: plan.namespace)
                made.append((.secrets, plan.secretsName))
            }
        } catch {
            deleteAll(made)
            throw error
        }
        let job: KubeObject
        do {
            job = try client.create(plan.job(ttl: ttl), namespace: plan.namespace)
        } catch {
            deleteAll(made)
            throw error
        }
        // Owned by the Job, they go with it, whoever deletes it (or its TTL).
        let owner = FlowRunPlan.jobOwner(name: plan.jobName, uid: job.uid ?? "")
        for (resource, name) in made {
            try client.patch(resource, name, namespace: plan.namespace, ["metadata": ["ownerReferences": [owner]]])
        }
        if let pullSecret {
            let current = try client.get(.secrets, pullSecret, namespace: plan.namespace)
            try client.patch(.secrets, pullSecret, namespace: plan.namespace,
                             ["metadata": ["ownerReferences": .array(current.ownerReferences + [owner]),
                                           "resourceVersion": .text(current.resourceVersion ?? "")]])
        }
    }

    private func deleteAll(_ objects: [(KubeResource, String)]) {
        for (resource, name) in objects { _ = try? client.delete(resource, name, namespace: plan.namespace) }
    }

    /// Follows the run to its end; deletes the Job (and with it everything of the run).
    /// - Returns: how the flow ended.
    public func follow(observer: RunObserver, startupTimeout: Double) -> ExitStatus {
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
