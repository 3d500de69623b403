/// A validated flow: its tasks indexed, its edges checked, an order to run them in.
/// Building one is the "validate" step of a flow run; every error names a file:line.
public struct FlowGraph: Sendable {
    public private(set) var spec: FlowSpec
    /// Task index by slug; tasks keep the spec's order.
    public let index: [String: Int]
    /// The data and state edges into each task.
    public let incoming: TaskLists<EdgeSpec>
    /// The distinct upstream tasks of each task.
    public let upstream: TaskLists<Int>
    /// The distinct downstream tasks of each task.
    public let downstream: TaskLists<Int>
    public let constants: TaskLists<ConstantSpec>
    /// The tasks with an argument mapped over (`isMapped`), found once: the runner asks of a
    /// task each time one of its upstream tasks finishes, and a fan-in has 100,000 of them.
    private let mappedTasks: Set<Int>

    public init(_ spec: FlowSpec) throws {
        self.spec = spec
        let n = spec.tasks.count
        var index: [String: Int] = [:]
        index.reserveCapacity(n)
        for (i, t) in spec.tasks.enumerated() {
            guard index.updateValue(i, forKey: t.slug) == nil else {
                throw FlowError(at: t.source, "flow '\(spec.name)' has two tasks with the slug '\(t.slug)'")
            }
        }
        var ends: [(upstream: Int, downstream: Int)] = []
        ends.reserveCapacity(spec.edges.count)
        for e in spec.edges {
            guard let u = index[e.upstream], let d = index[e.downstream] else {
                throw FlowError(at: e.source, "edge \(e.upstream) -> \(e.downstream) names a task that is not in flow '\(spec.name)'")
            }
            if u == d { throw FlowError(at: e.source, "cycle: task '\(e.upstream)' depends on itself") }
            ends.append((u, d))
        }
        var constantTasks: [Int] = []
        constantTasks.reserveCapacity(spec.constants.count)
        for c in spec.constants {
            guard let t = index[c.task] else { throw FlowError("flow '\(spec.name)': a constant names the unknown task '\(c.task)'") }
            constantTasks.append(t)
        }
        for r in spec.referenceTasks ?? [] where index[r] == nil {
            throw FlowError("flow '\(spec.name)': reference task '\(r)' is not in the flow")
        }
        self.index = index
        incoming = TaskLists(tasks: n, spec.edges.indices.lazy.map { (ends[$0].downstream, spec.edges[$0]) })
        upstream = TaskLists(tasks: n, ends.lazy.map { ($0.downstream, $0.upstream) }).sortedUnique()
        downstream = TaskLists(tasks: n, ends.lazy.map { ($0.upstream, $0.downstream) }).sortedUnique()
        constants = TaskLists(tasks: n, spec.constants.indices.lazy.map { (constantTasks[$0], spec.constants[$0]) })
        let into = self.incoming, given = self.constants
        mappedTasks = Set(spec.tasks.indices.filter { into[$0].contains(where: \.mapped) || given[$0].contains(where: \.mapped) })
        if let cycle = findCycle() { throw cycleError(cycle) }
    }

    public var count: Int { spec.tasks.count }

    /// The same graph with these tag limits over the flow's (`--limit`), which change no edge.
    public func limited(by given: [String: Int]) -> FlowGraph {
        var graph = self
        graph.spec.limits.merge(given) { _, given in given }
        return graph
    }

    /// The same graph with no task fused on Dask (`dkrun --no-fuse`).
    public func unfused() -> FlowGraph {
        var graph = self
        TaskSpec.changeAll(&graph.spec.tasks) { $0.fuses = false }
        return graph
    }

    /// The tasks whose states decide the flow's state.
    public var referenceTaskIndices: [Int] {
        if let r = spec.referenceTasks { return r.compactMap { index[$0] } }
        return (0 ..< count).filter { downstream[$0].isEmpty }
    }

    /// Whether any argument of the task is mapped over.
    public func isMapped(_ t: Int) -> Bool { mappedTasks.contains(t) }

    /// Whether mapped task `d` maps over mapped task `u` child by child, so its child i needs
    /// only child i of `u` (depth-first): every edge from `u` is mapped over, not flattened and
    /// not one element of its result (those need `u`'s result whole).
    public func mapsChildByChild(_ d: Int, over u: Int) -> Bool {
        isMapped(u) && isMapped(d) && incoming[d].allSatisfy { e in
            e.upstream != spec.tasks[u].slug || e.mapped && !e.flattened && e.index == nil
        }
    }

    /// Kahn's algorithm; the tasks it cannot order lie on or behind a cycle, and a walk
    /// backwards among them finds one.
    private func findCycle() -> [Int]? {
        var remaining = upstream.map(\.count)
        var ready = (0 ..< count).filter { remaining[$0] == 0 }
        var done = 0
        while let t = ready.popLast() {
            done += 1
            for d in downstream[t] {
                remaining[d] -= 1
                if remaining[d] == 0 { ready.append(d) }
            }
        }
        guard done < count else { return nil }
        var t = remaining.firstIndex { $0 > 0 }!
        var seen: [Int: Int] = [:]
        var path: [Int] = []
        while seen[t] == nil {
            seen[t] = path.count
            path.append(t)
            t = upstream[t].first { remaining[$0] > 0 }!
        }
        let cycle = Array(path[seen[t]!...].reversed())
        // Start at the task defined first, so the same cycle always reads the same way.
        let first = cycle.indices.min { cycle[$0] < cycle[$1] }!
        return Array(cycle[first...] + cycle[..<first])
    }

    private func cycleError(_ cycle: [Int]) -> FlowError {
        let names = (cycle + [cycle[0]]).map { spec.tasks[$0].slug }
        let closing = incoming[cycle[0]].first { $0.upstream == spec.tasks[cycle[cycle.count - 1]].slug }
        let tasks = cycle.map { "  \(spec.tasks[$0].slug) (defined at \(spec.tasks[$0].source))" }.joined(separator: "\n")
        return FlowError(at: closing?.source ?? spec.tasks[cycle[0]].source,
                         "flow '\(spec.name)' has a cycle: \(names.joined(separator: " -> "))\n\(tasks)")
    }

    /// The parameter values of a run: the given ones over the defaults. Unknown names and
    /// missing required parameters are errors.
    public func resolveParameters(_ given: [String: Value]) throws -> [String: Value] {
        let parameters = spec.parameters
        let known = Set(parameters.map(\.slug))
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            let list = known.isEmpty ? "it has none" : "it has " + known.sorted().joined(separator: ", ")
            throw FlowError("flow '\(spec.name)' has no parameter '\(unknown)' (\(list))")
        }
        var values: [String: Value] = [:]
        for p in parameters {
            if let v = given[p.slug] {
                values[p.slug] = v
            } else if p.parameter!.required {
                throw FlowError(at: p.source, "missing value for required parameter '\(p.slug)' (give it with --param \(p.slug)=VALUE)")
            } else {
                values[p.slug] = p.parameter!.defaultValue
            }
        }
        return values
    }
}

/// A flow that cannot run as written: the message starts with the file:line to fix.
public struct FlowError: CategorizedError, Equatable {
    public var exitStatus: ExitStatus { .badInput }

    public let description: String
    public init(_ description: String) { self.description = description }

    /// The message, after the position to fix.
    public init(at position: SourcePosition, _ message: String) { description = "\(position): \(message)" }
}

/// A list per task, all in one array (`items[offsets[t] ..< offsets[t + 1]]`): a graph of
/// 100,000 tasks holds four arrays, not four per task.
public struct TaskLists<Element: Sendable>: RandomAccessCollection, Sendable {
    private var items: [Element]
    private var offsets: [Int]

    /// The lists of `tasks` tasks from (task, item) pairs, each list in the pairs' order.
    init<S: Collection>(tasks: Int, _ pairs: S) where S.Element == (Int, Element) {
        var counts = [Int](repeating: 0, count: tasks + 1)
        for (t, _) in pairs { counts[t + 1] += 1 }
        for t in 0 ..< tasks { counts[t + 1] += counts[t] }
        offsets = counts
        var next = counts
        // Every slot is written once: the counts add up to the pairs'.
        items = [Element](unsafeUninitializedCapacity: pairs.count) { buffer, initialized in
            for (t, item) in pairs {
                (buffer.baseAddress! + next[t]).initialize(to: item)
                next[t] += 1
            }
            initialized = pairs.count
        }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { offsets.count - 1 }
    public subscript(t: Int) -> ArraySlice<Element> { items[offsets[t] ..< offsets[t + 1]] }
}

extension TaskLists where Element == Int {
    /// Each list sorted, without repeats: two edges between the same tasks (a state edge and
    /// a data edge) count once.
    func sortedUnique() -> TaskLists {
        var out = self
        out.items = []
        out.items.reserveCapacity(items.count)
        for t in indices {
            out.offsets[t] = out.items.count
            let list = self[t]
            for x in list.count > 1 ? list.sorted()[...] : list where out.items.count == out.offsets[t] || out.items.last != x { out.items.append(x) }
        }
        out.offsets[count] = out.items.count
        return out
    }
}
