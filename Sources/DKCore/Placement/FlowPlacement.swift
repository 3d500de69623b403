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

    /// - Parameters:
    ///   - override: `--executor`'s value, which runs the flow here whatever it configures, or nil.
    ///   - cores: the threads a LocalDaskExecutor without num_workers gets, here or in the Job's pod.
    /// - Throws: when the configuration objects contradict each other (one would be ignored).
    public static func decide(for flow: FlowSpec, override: String?, cores: Int) throws -> FlowPlacement {
        let placement = try place(flow, override: override, cores: cores)
        if case .kubernetes = placement, flow.executor?["performance_report_path"] != nil {
            throw FlowError("DaskExecutor.performance_report_path: flow '\(flow.name)' runs on Kubernetes, where the report "
                + "would be written in the Job's pod and deleted with it: remove it, or run the flow here with a DaskExecutor "
                + "to keep a report")
        }
        return placement
    }

    private static func place(_ flow: FlowSpec, override: String?, cores: Int) throws -> FlowPlacement {
        if let override { return .here(try ExecutorChoice.parse(override, cores: cores)) }
        let runConfig = flow.configuration["run_config"]?["type"]?.stringValue
        switch flow.configuration["environment"]?["type"]?.stringValue {
        case nil, "LocalEnvironment": break
        case "DaskKubernetesEnvironment":
            try checkRunOnItsCluster(flow, environment: "DaskKubernetesEnvironment", runConfig: runConfig)
            return .kubernetes(.daskCluster(.daskKubernetesEnvironment))
        case "DaskOnKubernetesEnvironment":
            try checkRunOnItsCluster(flow, environment: "DaskOnKubernetesEnvironment", runConfig: runConfig)
            return .kubernetes(.daskCluster(.daskOnKubernetesEnvironment))
        case let other?: throw FlowError("flow '\(flow.name)' has an unknown environment type '\(other)'")
        }
        let executor = try ExecutorChoice.configured(flow, cores: cores)
        var makesPods = false
        if case .dask(let settings) = executor { makesPods = DaskClusterClass.of(settings)?.makesPods == true }
        guard runConfig == "KubernetesRun" else {
            if makesPods {
                throw FlowError("DaskExecutor.cluster_class: a KubeCluster is a cluster of pods for a flow run on Kubernetes, "
                    + "and flow '\(flow.name)' runs here: give it run_config = KubernetesRun{...}")
            }
            return .here(executor)
        }
        return makesPods ? .kubernetes(.daskCluster(.kubeClusterExecutor)) : .kubernetes(.executor(executor))
    }

    /// A Dask*Environment runs the flow in a Job on a cluster of its own: a LocalRun, or an
    /// executor that would run the tasks elsewhere, would be ignored.
    private static func checkRunOnItsCluster(_ flow: FlowSpec, environment: String, runConfig: String?) throws {
        if runConfig == "LocalRun" {
            throw FlowError("LocalRun: flow '\(flow.name)' runs on Kubernetes (its environment is \(environment)), where "
                + "a LocalRun does not apply: remove it, or configure the run's Job with a KubernetesRun")
        }
        guard let executor = flow.configuration["executor"] else { return }
        // cluster_kwargs and adapt_kwargs default to empty tables (empty lists, to Lua)
        let makesOrJoins = ["address", "cluster_class", "cluster_kwargs", "adapt_kwargs"].filter {
            guard let v = executor[$0] else { return false }
            return v.arrayValue?.isEmpty != true && v.mapValue?.isEmpty != true
        }
        guard executor["type"] == "DaskExecutor", makesOrJoins.isEmpty else {
            let type = executor["type"]?.stringValue ?? "?"
            throw FlowError("\(type)\(makesOrJoins.first.map { "." + $0 } ?? ""): flow '\(flow.name)' runs its tasks on the "
                + "Dask cluster its \(environment) makes, so its executor can only be a DaskExecutor with client_kwargs "
                + "and debug")
        }
    }
}
