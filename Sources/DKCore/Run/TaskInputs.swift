/// What one task run gets from its upstream tasks' final states: whether it starts, how many
/// children a mapped task has, and the argument values of a run. The flow runner here and the
/// worker task server on Dask both decide with this, so a flow behaves the same everywhere.
///
/// Upstream states are seen as Prefect 1 sees them: a mapped upstream task counts as its
/// children (a reduce after a failed child is TriggerFailed), except where an edge maps over
/// it: there child i of this task sees child i of the upstream one.
public struct TaskInputs {
    public let graph: FlowGraph
    public let task: Int
    private let upstreamState: (Int) -> TaskState
    /// Whether the task is approved in this run (`FlowRunContext.approved`): its trigger is
    /// not checked.
    public var approved = false

    /// - Parameter upstream: the final state of an upstream task, by task index.
    public init(graph: FlowGraph, task: Int, upstream: @escaping (Int) -> TaskState) {
        self.graph = graph
        self.task = task
        upstreamState = upstream
    }

    /// How a task starts (for a mapped task: its parent).
    public enum Start: Equatable {
        /// It ends in this state without running (skipped, trigger failed, nothing to map...).
        case ends(TaskState)
        case runs
        /// A mapped task runs this many children (at least one).
        case maps(width: Int)
    }

    private var spec: TaskSpec { graph.spec.tasks[task] }

    public func start() -> Start {
        guard graph.isMapped(task) else {
            return TaskRules.preflight(spec, upstreamStates(child: nil), hasUpstream: hasUpstream, approved: approved)
                .map(Start.ends) ?? .runs
        }
        if let end = TaskRules.preflightMapping(spec, upstreamStates(child: nil)) { return .ends(end) }
        return mapping()
    }

    /// The state child `i` of a mapped task ends in without running, or nil when it runs.
    public func preflight(child i: Int) -> TaskState? {
        TaskRules.preflight(spec, upstreamStates(child: i), hasUpstream: hasUpstream, approved: approved)
    }

    private var hasUpstream: Bool { !graph.upstream[task].isEmpty }

    /// The upstream states Prefect's checks look at, for the task (`child` nil: a plain task,
    /// or a mapped task's parent) or for one child of a mapped task.
    private func upstreamStates(child: Int?, parameters: Bool = true) -> [TaskState] {
        // The first edge mapping over each upstream task, by its slug (looked up once: a
        // reduce over N tasks has N edges).
        var mappedEdges: [String: EdgeSpec] = [:]
        for e in graph.incoming[task] where e.mapped && mappedEdges[e.upstream] == nil { mappedEdges[e.upstream] = e }
        // Appended to one array: an array per upstream task cost a no-op task more than its checks.
        var states: [TaskState] = []
        states.reserveCapacity(graph.upstream[task].count)
        for u in graph.upstream[task] where parameters || graph.spec.tasks[u].parameter == nil {
            let state = upstreamState(u)
            guard !mappedEdges.isEmpty, let edge = mappedEdges[graph.spec.tasks[u].slug] else {
                state.appendFlattened(to: &states)
                continue
            }
            guard var i = child, state.kind == .mapped else {
                states.append(state)
                continue
            }
            if edge.flattened {
                // Element i of the flattened list came from the upstream child holding it.
                guard let j = state.children.firstIndex(where: { c in
                    let n = Self.flattenedCount(c.result)
                    if i < n { return true }
                    i -= n
                    return false
                }) else { continue }
                i = j
            }
            if state.children.indices.contains(i) { states.append(state.children[i]) }
        }
        return states
    }

    /// The children of a mapped task, as Prefect 1 counts them: as many as the shortest of its
    /// mapped arguments, among those whose upstream task succeeded; Failed when none did, or
    /// one of them is not a list.
    private func mapping() -> Start {
        var lengths: [Int] = []
        var inputs: [(String, Value)] = graph.constants[task].filter(\.mapped).map { ($0.key, $0.value) }
        for e in graph.incoming[task] where e.mapped && upstreamState(graph.index[e.upstream]!).isSuccessful {
            inputs.append((e.key ?? e.upstream, upstreamValue(e)))
        }
        if inputs.isEmpty { return .ends(TaskState(.failed, message: "No upstream states can be mapped over.")) }
        for (key, value) in inputs {
            guard let items = value.arrayValue ?? (value.mapValue?.isEmpty == true ? [] : nil) else {
                return .ends(TaskState(.failed, message: "At least one upstream state has an unmappable result: "
                    + "argument '\(key)' is \(value.typeNameWithArticle), not an array"))
            }
            lengths.append(items.count)
        }
        let width = lengths.min()!
        return width == 0 ? .ends(TaskRules.mappedState([])) : .maps(width: width)
    }

    /// Whether a resumed run may take this run's (child `mapIndex`'s) stored result: every
    /// upstream task it sees (parameters aside, whose values are among its inputs) ended
    /// Cached, so nothing upstream ran again (docs/results.md, Resume).
    public func upstreamAllCached(mapIndex: Int?) -> Bool {
        upstreamStates(child: mapIndex, parameters: false).allSatisfy { $0.kind == .cached }
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

    /// An upstream result as the edge passes it: whole, or one element of it (`nout` handles),
    /// flattened one level for `dk.flatten`.
    private func upstreamValue(_ e: EdgeSpec) -> Value {
        var result = upstreamState(graph.index[e.upstream]!).result
        if let i = e.index {
            result = result.arrayValue.flatMap { $0.indices.contains(i - 1) ? $0[i - 1] : nil } ?? .null
        }
        guard e.flattened, let lists = result.arrayValue else { return result }
        return .array(lists.flatMap { $0.arrayValue ?? ($0.mapValue?.isEmpty == true ? [] : [$0]) })
    }

    /// How many elements a value adds to a flattened list.
    private static func flattenedCount(_ v: Value) -> Int {
        v.arrayValue?.count ?? (v.mapValue?.isEmpty == true ? 0 : 1)
    }
}
