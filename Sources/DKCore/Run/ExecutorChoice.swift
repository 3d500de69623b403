/// Where a flow's tasks will run, decided from its configuration and the `--executor`
/// override: in-process, on a pool of threads, or somewhere this build cannot run yet.
public enum ExecutorChoice: Equatable, Sendable {
    case local
    case threads(Int)
    /// The flow asks for something that needs Dask or Kubernetes; the message says what.
    case unavailable(String)

    /// - Parameter override: `local`, `threads` or `threads=N` (from `--executor`), or nil.
    public static func decide(for flow: FlowSpec, override: String?, cores: Int) throws -> ExecutorChoice {
        if let override { return try parse(override, cores: cores) }
        let environment = flow.configuration["environment"]?["type"]?.stringValue
        let runConfig = flow.configuration["run_config"]?["type"]?.stringValue
        let executor = flow.configuration["environment"]?["executor"] ?? flow.configuration["executor"]
        if let env = environment, env != "LocalEnvironment" {
            return .unavailable("flow '\(flow.name)' uses \(env), which runs on a Dask cluster on Kubernetes; "
                + "this dkrun cannot run it there yet (run it locally with --executor local or --executor threads)")
        }
        if runConfig == "KubernetesRun" {
            return .unavailable("flow '\(flow.name)' has run_config KubernetesRun, which runs the flow as a Kubernetes Job; "
                + "this dkrun cannot run it there yet (run it locally with --executor local or --executor threads)")
        }
        switch executor?["type"]?.stringValue {
        case nil, "LocalExecutor": return .local
        case "LocalDaskExecutor":
            if executor?["scheduler"]?.stringValue == "synchronous" { return .local }
            return .threads(executor?["num_workers"]?.intValue.map(Int.init) ?? cores)
        case let other?:
            return .unavailable("flow '\(flow.name)' uses \(other), which runs tasks on a Dask cluster; "
                + "this dkrun cannot run it there yet (run it locally with --executor local or --executor threads)")
        }
    }

    public static func parse(_ text: String, cores: Int) throws -> ExecutorChoice {
        switch text {
        case "local", "synchronous": return .local
        case "threads": return .threads(cores)
        default:
            if text.hasPrefix("threads="), let n = Int(text.dropFirst("threads=".count)), n >= 1 { return .threads(n) }
            throw FlowError("invalid executor '\(text)' (expected local, threads or threads=N with N >= 1)")
        }
    }
}
