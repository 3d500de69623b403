/// Where a flow runs: the one decision, from its configuration and `--executor`, that every
/// caller asks (`dkrun FILE`, the REPL's `flow:run`, `--dry-run`, and the Kubernetes Job's pod).
public enum FlowPlacement: Equatable, Sendable {
    /// In this process, with this executor.
    case here(ExecutorChoice)
    /// In a Kubernetes Job that dkrun submits and follows, its tasks run as `tasks` says.
    case kubernetes(JobTasks)

    /// Where the tasks of a flow run on Kubernetes run, seen from the Job's pod.
    public enum JobTasks: Equatable, Sendable {
        /// On a Dask cluster of pods made for the run.
        case daskCluster(ClusterSource)
        /// In the Job's pod with the flow's own executor (local, threads, a temporary local
        /// Dask cluster, or an existing scheduler's address).
        case executor(ExecutorChoice)
    }

    /// The configuration that describes the run's Dask cluster of pods.
    public enum ClusterSource: Equatable, Sendable {
        case daskKubernetesEnvironment
        case daskOnKubernetesEnvironment
        /// KubernetesRun with DaskExecutor{cluster_class = "KubeCluster", ...}.
        case kubeClusterExecutor
    }

    /// The spellings of dask-kubernetes' classic KubeCluster that DaskExecutor's cluster_class accepts.
    public static let kubeClusterClasses: Set<String> = ["KubeCluster", "dask_kubernetes.KubeCluster",
                                                         "dask_kubernetes.classic.KubeCluster"]

    /// - Parameters:
    ///   - override: `--executor`'s value, which runs the flow here whatever it configures, or nil.
    ///   - cores: the threads a LocalDaskExecutor without num_workers gets, here or in the Job's pod.
    public static func decide(for flow: FlowSpec, override: String?, cores: Int) throws -> FlowPlacement {
        if let override { return .here(try ExecutorChoice.parse(override, cores: cores)) }
        let environment = flow.configuration["environment"]?["type"]?.stringValue
        switch environment {
        case nil, "LocalEnvironment": break
        case "DaskKubernetesEnvironment": return .kubernetes(.daskCluster(.daskKubernetesEnvironment))
        case "DaskOnKubernetesEnvironment": return .kubernetes(.daskCluster(.daskOnKubernetesEnvironment))
        case let other?: throw FlowError("flow '\(flow.name)' has an unknown environment type '\(other)'")
        }
        let executor = try ExecutorChoice.configured(flow, cores: cores)
        guard flow.configuration["run_config"]?["type"] == "KubernetesRun" else { return .here(executor) }
        if case .dask(let settings) = executor, settings["address"] == nil,
           let cls = settings["cluster_class"]?.stringValue, kubeClusterClasses.contains(cls) {
            return .kubernetes(.daskCluster(.kubeClusterExecutor))
        }
        return .kubernetes(.executor(executor))
    }
}
