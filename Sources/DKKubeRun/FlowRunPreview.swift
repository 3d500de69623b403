import DKCore
import DKKube

/// What `--dry-run` shows of a flow run on Kubernetes: every object the run would make, after
/// the quick configuration and the specs are merged, with placeholders for what only the run
/// knows (the Job's uid, the scheduler's address, the pull secret's contents), and as
/// comments what the configuration decided. Nothing is made.
public struct FlowRunPreview {
    public private(set) var comments: [String] = []
    public private(set) var objects: [Value] = []

    /// - Parameters:
    ///   - ttl: the Job's ttlSecondsAfterFinished.
    ///   - environment: where worker names take their variables from (Dask's config).
    public init(plan: FlowRunPlan, payload: [UInt8], ttl: Int, environment: [String: String]) throws {
        comments = ["dkrun --dry-run: flow '\(plan.flowName)', run \(plan.runID), namespace \(plan.namespace)",
                    "image: \(plan.image)"]
        if let source = plan.pullSecretSource {
            comments.append("private_registry: the pull secret \(source.name) is made from dkrun secret \(source.secret) if it does not exist")
            objects.append(["apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                            "metadata": ["name": .text(source.name), "namespace": .text(plan.namespace)],
                            "data": [".dockerconfigjson": .text("<from dkrun secret \(source.secret)>")]])
        }
        if !plan.secretNames.isEmpty {
            comments.append("secrets: \(plan.secretNames.joined(separator: ", ")) are copied into Secret \(plan.secretsName) when the run "
                + "is submitted, and mounted at \(SecretStore.defaultDirectory) on the Job's pod and the Dask pods")
            var secret = plan.runSecret([:])
            secret["data"] = Value(texts: Dictionary(uniqueKeysWithValues: plan.secretNames.map { ($0, "<secret \($0)>") }))
            objects.append(secret)
        }
        var configMap = try plan.payloadConfigMap(payload)
        configMap["binaryData"] = [.text(FlowRunPlan.payloadFile): .text("<\(payload.count) bytes, sha256 \(Digests.sha256Hex(payload))>")]
        objects.append(configMap)
        objects.append(plan.job(ttl: ttl))
        switch plan.tasks {
        case .daskCluster(var spec):
            comments += spec.notes
            comments.append("each object below is owned by Job \(plan.jobName) (ownerReferences), made by the Job's pod")
            spec.owner = FlowRunPlan.jobOwner(name: plan.jobName, uid: "<the Job's uid>")
            objects += [spec.schedulerPod(), spec.schedulerService(), spec.schedulerDisruptionBudget()]
            // Each group's first workers, and one pod of a group that starts with none, to show its spec.
            for group in [spec.defaultGroup] + spec.groups {
                if group.minWorkers == 0 {
                    comments.append("the \(group.name) group starts with no worker: its one pod below shows the spec of those "
                        + "made when tasks need them")
                }
                for _ in 0 ..< max(group.minWorkers, 1) {
                    let name = spec.newWorkerName(user: DaskClusterSpec.user(environment: environment), environment: environment)
                    objects.append(spec.workerPod(name: name, schedulerAddress: "tcp://<the scheduler Service's cluster IP>:8786",
                                                  group: group.name == WorkerGroup.defaultName ? nil : group))
                }
            }
        case .executor(let choice):
            comments.append(Self.whereTasksRun(choice))
        }
    }

    /// Where the tasks of a run go when the Job's pod runs them with the flow's executor.
    static func whereTasksRun(_ choice: ExecutorChoice) -> String {
        switch choice {
        case .local:
            return "tasks run in the Job's pod, one at a time (LocalExecutor)"
        case .threads:
            return "tasks run in the Job's pod, on a pool of threads (LocalDaskExecutor)"
        case .dask(let settings):
            if let address = settings["address"]?.stringValue {
                return "tasks run on the existing Dask cluster at \(address) (DaskExecutor address): the Job's pod "
                    + "joins its scheduler, and that cluster's workers run every task with the dkrun they have"
            }
            return "tasks run on a temporary Dask cluster of worker processes in the Job's pod (DaskExecutor LocalCluster)"
        }
    }
}
