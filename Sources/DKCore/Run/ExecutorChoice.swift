/// Where a flow's tasks will run, decided from its configuration and the `--executor`
/// override: in-process, on a pool of threads, on a Dask cluster, or in a Kubernetes Job.
public enum ExecutorChoice: Equatable, Sendable {
    case local
    case threads(Int)
    /// A DaskExecutor's fields (address, cluster_class, cluster_kwargs, adapt_kwargs,
    /// client_kwargs, debug), as the flow set them or `--executor dask[=ADDRESS]` did.
    case dask(Value)
    /// The flow runs as a Kubernetes Job (DaskKubernetesEnvironment, DaskOnKubernetesEnvironment,
    /// KubernetesRun): dkrun submits it there and follows it (DKKube's FlowRunPlan says how).
    case kubernetes

    /// - Parameter override: `--executor`'s value, which runs the flow here whatever it configures, or nil.
    public static func decide(for flow: FlowSpec, override: String?, cores: Int) throws -> ExecutorChoice {
        if let override { return try parse(override, cores: cores) }
        let environment = flow.configuration["environment"]?["type"]?.stringValue
        let runConfig = flow.configuration["run_config"]?["type"]?.stringValue
        let executor = flow.executor
        if let env = environment, env != "LocalEnvironment" { return .kubernetes }
        if runConfig == "KubernetesRun" { return .kubernetes }
        switch executor?["type"]?.stringValue {
        case nil, "LocalExecutor": return .local
        case "LocalDaskExecutor":
            if executor?["scheduler"]?.stringValue == "synchronous" { return .local }
            return .threads(executor?["num_workers"]?.intValue.map(Int.init) ?? cores)
        case "DaskExecutor": return .dask(executor!)
        case let other?: throw FlowError("flow '\(flow.name)' has an unknown executor type '\(other)'")
        }
    }

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
}

/// Runs a whole flow somewhere else (a Dask cluster): the payload goes there, the run's
/// events come back to the observer. DKDask provides it; the Lua host calls it for `.dask`.
public protocol ClusterRunner: AnyObject {
    /// - Parameter payload: the flow's payload, encoded.
    func run(graph: FlowGraph, payload: [UInt8], settings: Value, observer: RunObserver?) throws -> FlowRunResult
}
