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
        if flow.configuration["environment"]?["executor"] != nil && flow.configuration["executor"] != nil {
            throw FlowError("LocalEnvironment.executor: flow '\(flow.name)' has an executor of its own too; set only one of them")
        }
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
        case .dask(let settings):
            return settings["address"]?.stringValue.map { "DaskExecutor(\($0))" } ?? "DaskExecutor(temporary cluster)"
        }
    }
}
