import DKCore
import DKKube

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
            let items = (try? client.list(resource, namespace: namespace, labelSelector: selector))?.items ?? []
            for item in items where !item.name.isEmpty && !item.isBeingDeleted {
                // A pull secret other runs still own stays until the last of them ends.
                if resource == .secrets, run != nil, item.ownerReferences.count > 1 { continue }
                if (try? client.delete(resource, item.name, namespace: namespace)) != nil {
                    deleted.append("\(resource.plural)/\(item.name)")
                }
            }
        }
        Poll.until(deadline: Clock.monotonic() + wait) { podsLeft(run: run) == 0 ? true : nil }
        return deleted
    }

    /// How many pods of the run (or of every run) exist; -1 when the API does not say.
    public func podsLeft(run: String?) -> Int {
        let selector = run.map { RunLabels.selector(run: $0) } ?? RunLabels.allRuns
        return (try? client.list(.pods, namespace: namespace, labelSelector: selector))?.items.count ?? -1
    }
}
