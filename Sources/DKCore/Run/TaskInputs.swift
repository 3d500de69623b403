/// What one task run gets from its upstream tasks' final states: whether it starts, how many
/// children a mapped task has, and the argument values of a run. The flow runner here and the
/// worker task server on Dask both decide with this, so a flow behaves the same everywhere.
public struct TaskInputs {
    public let graph: FlowGraph
    public let task: Int
    private let upstreamState: (Int) -> TaskState

    /// - Parameter upstream: the final state of an upstream task, by task index.
    public init(graph: FlowGraph, task: Int, upstream: @escaping (Int) -> TaskState) {
        self.graph = graph
        self.task = task
        upstreamState = upstream
    }

    private var spec: TaskSpec { graph.spec.tasks[task] }

    /// The state the task ends in without running (skipped, trigger failed), or nil.
    public func preflight() -> TaskState? {
        TaskRules.preflight(spec, graph.upstream[task].map { upstreamState($0).kind })
    }

    /// The same for child `i` of a mapped task: it sees the matching child of each mapped
    /// upstream, as in Prefect 1.
    public func preflight(child i: Int) -> TaskState? {
        let kinds = graph.upstream[task].map { u -> StateKind in
            let state = upstreamState(u)
            let slug = graph.spec.tasks[u].slug
            if graph.incoming[task].contains(where: { $0.mapped && $0.upstream == slug }), state.children.indices.contains(i) {
                return state.children[i].kind
            }
            return state.kind
        }
        return TaskRules.preflight(spec, kinds)
    }

    /// The number of children of a mapped task: the common length of every mapped argument.
    public func mapWidth() -> Result<Int, FlowError> {
        var width: Int?
        var first = ""
        var inputs: [(String, Value)] = graph.constants[task].filter(\.mapped).map { ($0.key, $0.value) }
        for e in graph.incoming[task] where e.mapped {
            inputs.append((e.key ?? e.upstream, upstreamValue(e)))
        }
        for (key, value) in inputs {
            guard let items = value.arrayValue ?? (value.mapValue?.isEmpty == true ? [] : nil) else {
                return .failure(FlowError("cannot map over argument '\(key)': it is \(value.typeNameWithArticle), not an array"))
            }
            if let w = width, w != items.count {
                return .failure(FlowError("cannot map: argument '\(first)' has \(w) items but '\(key)' has \(items.count)"))
            }
            if width == nil { first = key }
            width = items.count
        }
        return .success(width ?? 0)
    }

    /// The argument values of a run: upstream results and constants; for child `mapIndex` of
    /// a mapped task, that element of each mapped argument.
    public func arguments(mapIndex: Int?) -> [String: Value] {
        var args: [String: Value] = [:]
        func element(_ v: Value) -> Value {
            guard let i = mapIndex, let a = v.arrayValue, a.indices.contains(i) else { return .null }
            return a[i]
        }
        for c in graph.constants[task] { args[c.key] = c.mapped ? element(c.value) : c.value }
        for e in graph.incoming[task] {
            guard let key = e.key else { continue }
            let v = upstreamValue(e)
            args[key] = e.mapped ? element(v) : v
        }
        return args
    }

    /// An upstream result as the edge passes it: whole, or one element of it (`nout` handles).
    private func upstreamValue(_ e: EdgeSpec) -> Value {
        let result = upstreamState(graph.index[e.upstream]!).result
        guard let i = e.index else { return result }
        return result.arrayValue.flatMap { $0.indices.contains(i - 1) ? $0[i - 1] : nil } ?? .null
    }
}
