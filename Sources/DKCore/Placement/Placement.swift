#if canImport(Glibc)
import Glibc
#endif

/// How a flow's tasks run in a process that runs them: one at a time in-process, on a pool of
/// threads, or on a Dask cluster.
public enum ExecutorChoice: Equatable, Sendable, CustomStringConvertible {
    case local
    case threads(Int)
    /// A DaskExecutor's fields (address, cluster_class, cluster_kwargs, adapt_kwargs,
    /// client_kwargs, debug), as the flow set them or `--executor dask[=ADDRESS]` did.
    case dask(Value)

    /// The cores of this machine: the threads of a pool whose size nobody set.
    public static var machineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// `--executor`'s spelling: local, threads, threads=N, dask, dask=ADDRESS.
    public static func parse(_ text: String, cores: Int) throws -> ExecutorChoice {
        switch text {
        case "local", "synchronous": return .local
        case "threads": return .threads(cores)
        case "dask": return .dask(["type": "DaskExecutor"])
        default:
            if text.hasPrefix("threads="), let n = Int(text.dropFirst("threads=".count)), n >= 1 { return .threads(n) }
            if text.hasPrefix("dask="), text.count > "dask=".count {
                return .dask(["type": "DaskExecutor", "address": .text(String(text.dropFirst("dask=".count)))])
            }
            throw FlowError("invalid executor '\(text)' (expected local, threads, threads=N with N >= 1, dask or dask=ADDRESS)")
        }
    }

    /// The flow's executor object (Prefect 1's LocalExecutor, LocalDaskExecutor, DaskExecutor).
    static func configured(_ flow: FlowSpec, cores: Int) throws -> ExecutorChoice {
        let executor = flow.executor
        switch executor?["type"]?.stringValue {
        case nil, "LocalExecutor": return .local
        case "LocalDaskExecutor":
            if executor?["scheduler"]?.stringValue == "synchronous" { return .local }
            return .threads(executor?["num_workers"]?.intValue.map(Int.init) ?? cores)
        case "DaskExecutor": return .dask(executor!)
        case let other?: throw FlowError("flow '\(flow.name)' has an unknown executor type '\(other)'")
        }
    }

    public var description: String {
        switch self {
        case .local: return "local"
        case .threads(let n): return "threads(\(n))"
        case .dask(let settings): return settings["address"]?.stringValue.map { "dask(\($0))" } ?? "dask"
        }
    }
}

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
