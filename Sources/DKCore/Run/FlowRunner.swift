/// The result of a flow run: the flow's state and every task's final state.
public struct FlowRunResult: Sendable {
    public var state: TaskState
    public var taskStates: [String: TaskState]
    public var wall: Double
}

/// Runs a validated flow on an executor: starts each task when its upstream tasks have
/// finished, decides skips and triggers, expands mapped tasks from their upstream results,
/// schedules retries, and reports every transition to the observer. Task attempts run on the
/// executor; everything else happens in the calling thread.
public final class FlowRunner {
    private let graph: FlowGraph
    private let parameters: [String: Value]
    private let executor: Executor
    private let observer: RunObserver?

    private var states: [TaskState?]
    private var unfinishedUpstream: [Int]
    private var ready: [Int] = []
    private var inFlight = 0
    /// Children of mapped tasks that have started: parent -> child states.
    private var children: [Int: [TaskState?]] = [:]
    private var childrenLeft: [Int: Int] = [:]
    /// Attempts waiting for their retry delay, as (due time, job id).
    private var retries: [(due: Double, id: Int)] = []
    private var jobs: [Int: PendingJob] = [:]
    private var nextJobID = 0
    private var counts: [StateKind: Int] = [:]

    private struct PendingJob {
        var task: Int
        var mapIndex: Int?
        var call: TaskCall
    }

    /// - Parameter parameters: resolved values (see `FlowGraph.resolveParameters`).
    public init(graph: FlowGraph, parameters: [String: Value], executor: Executor, observer: RunObserver?) {
        self.graph = graph
        self.parameters = parameters
        self.executor = executor
        self.observer = observer
        states = Array(repeating: nil, count: graph.count)
        unfinishedUpstream = graph.upstream.map(\.count)
    }

    public func run() -> FlowRunResult {
        let started = Clock.monotonic()
        observer?.handle(.flowStarted(flow: graph.spec.name, tasks: graph.count, executor: executor.name, time: Clock.wall()))
        ready = (0 ..< graph.count).filter { unfinishedUpstream[$0] == 0 }.reversed()
        loop()
        let interrupted = Interruption.requested
        for t in 0 ..< graph.count where states[t] == nil {
            finish(t, TaskState(.cancelled, message: "The flow run was interrupted before this task ran"), attempt: 0, duration: nil)
        }
        let state = flowState(interrupted: interrupted)
        let wall = Clock.monotonic() - started
        observer?.handle(.flowFinished(flow: graph.spec.name, state: state, counts: counts, wall: wall, time: Clock.wall()))
        var taskStates: [String: TaskState] = [:]
        for (t, s) in states.enumerated() { taskStates[graph.spec.tasks[t].slug] = s }
        return FlowRunResult(state: state, taskStates: taskStates, wall: wall)
    }

    private func loop() {
        while true {
            if Interruption.requested {
                ready.removeAll()
                retries.removeAll()
            }
            while let t = ready.popLast() { start(t) }
            guard inFlight > 0 || !retries.isEmpty else { return }
            let nextDue = retries.map(\.due).min()
            for result in executor.next(until: inFlight > 0 ? nextDue : nextDue ?? Clock.monotonic()) {
                inFlight -= 1
                complete(result)
            }
            let now = Clock.monotonic()
            for r in retries where r.due <= now { submit(r.id) }
            retries.removeAll { $0.due <= now }
        }
    }

    // MARK: Starting tasks

    private func start(_ t: Int) {
        let task = graph.spec.tasks[t]
        if let p = task.parameter {
            finish(t, TaskState(.success, result: parameters[task.slug] ?? p.defaultValue), attempt: 1, duration: 0)
            return
        }
        let upstreamKinds = graph.upstream[t].map { states[$0]!.kind }
        if let end = TaskRules.preflight(task, upstreamKinds) {
            finish(t, end, attempt: 0, duration: nil)
            return
        }
        if graph.isMapped(t) {
            startMapped(t)
        } else {
            switch arguments(t, mapIndex: nil) {
            case .success(let args): enqueue(t, mapIndex: nil, args)
            case .failure(let error): finish(t, TaskState(.failed, message: error.description), attempt: 0, duration: nil)
            }
        }
    }

    private func startMapped(_ t: Int) {
        let width: Int
        switch mapWidth(t) {
        case .success(let w): width = w
        case .failure(let error):
            finish(t, TaskState(.failed, message: error.description), attempt: 0, duration: nil)
            return
        }
        if width == 0 {
            finish(t, TaskState(.mapped, message: "Mapped over no items", result: .array([])), attempt: 0, duration: nil)
            return
        }
        children[t] = Array(repeating: nil, count: width)
        childrenLeft[t] = width
        for i in 0 ..< width {
            // A child sees the matching child of each mapped upstream, as in Prefect 1.
            let kinds = graph.upstream[t].map { u in
                (graph.incoming[t].contains { $0.mapped && $0.upstream == graph.spec.tasks[u].slug }
                    ? states[u]!.children.indices.contains(i) ? states[u]!.children[i].kind : nil : nil) ?? states[u]!.kind
            }
            if let end = TaskRules.preflight(graph.spec.tasks[t], kinds) {
                finishChild(t, i, end, attempt: 0, duration: nil)
                continue
            }
            switch arguments(t, mapIndex: i) {
            case .success(let args): enqueue(t, mapIndex: i, args)
            case .failure(let error): finishChild(t, i, TaskState(.failed, message: error.description), attempt: 0, duration: nil)
            }
        }
    }

    /// The number of children: the common length of every mapped argument.
    private func mapWidth(_ t: Int) -> Result<Int, FlowError> {
        var width: Int?
        var first = ""
        var inputs: [(String, Value)] = graph.constants[t].filter(\.mapped).map { ($0.key, $0.value) }
        for e in graph.incoming[t] where e.mapped {
            inputs.append((e.key ?? e.upstream, upstreamValue(e)))
        }
        for (key, value) in inputs {
            guard let items = value.arrayValue ?? (value.mapValue?.isEmpty == true ? [] : nil) else {
                let article = ["integer", "array"].contains(value.typeName) ? "an" : "a"
                return .failure(FlowError("cannot map over argument '\(key)': it is \(article) \(value.typeName), not an array"))
            }
            if let w = width, w != items.count {
                return .failure(FlowError("cannot map: argument '\(first)' has \(w) items but '\(key)' has \(items.count)"))
            }
            if width == nil { first = key }
            width = items.count
        }
        return .success(width ?? 0)
    }

    private func upstreamValue(_ e: EdgeSpec) -> Value {
        let result = states[graph.index[e.upstream]!]!.result
        guard let i = e.index else { return result }
        return result.arrayValue.flatMap { $0.indices.contains(i - 1) ? $0[i - 1] : nil } ?? .null
    }

    /// The argument values of a task run: upstream results and constants, for a mapped child
    /// the `mapIndex`-th element of each mapped argument.
    private func arguments(_ t: Int, mapIndex: Int?) -> Result<[String: Value], FlowError> {
        var args: [String: Value] = [:]
        func element(_ v: Value, _ key: String) -> Value {
            guard let i = mapIndex, let a = v.arrayValue, a.indices.contains(i) else { return .null }
            return a[i]
        }
        for c in graph.constants[t] { args[c.key] = c.mapped ? element(c.value, c.key) : c.value }
        for e in graph.incoming[t] {
            guard let key = e.key else { continue }
            let v = upstreamValue(e)
            args[key] = e.mapped ? element(v, key) : v
        }
        return .success(args)
    }

    // MARK: Running attempts

    private func enqueue(_ t: Int, mapIndex: Int?, _ args: [String: Value]) {
        let task = graph.spec.tasks[t]
        let call = TaskCall(id: TaskRunID(task: task.slug, mapIndex: mapIndex), task: task, arguments: args,
                            attempt: 1, flowName: graph.spec.name, parameters: parameters)
        let id = nextJobID
        nextJobID += 1
        jobs[id] = PendingJob(task: t, mapIndex: mapIndex, call: call)
        submit(id)
    }

    private func submit(_ id: Int) {
        let call = jobs[id]!.call
        let observer = self.observer
        inFlight += 1
        executor.submit(id: id) { invoker in
            observer?.handle(.taskState(call.id, TaskState(.running), attempt: call.attempt, duration: nil, time: Clock.wall()))
            return invoker.invoke(call) { level, message in
                observer?.handle(.log(call.id, level, message, time: Clock.wall()))
            }
        }
    }

    private func complete(_ result: JobResult) {
        let (id, outcome, duration) = (result.id, result.outcome, result.duration)
        var job = jobs[id]!
        let task = graph.spec.tasks[job.task]
        let state = TaskRules.state(after: outcome)
        if TaskRules.shouldRetry(state, task: task, attempt: job.call.attempt) {
            let retry = TaskState(.retrying, message: "\(state.message ?? state.kind.rawValue); retry \(job.call.attempt) of \(task.maxRetries) in \(Clock.describe(task.retryDelay))")
            observer?.handle(.taskState(job.call.id, retry, attempt: job.call.attempt, duration: duration, time: Clock.wall()))
            job.call.attempt += 1
            jobs[id] = job
            retries.append((Clock.monotonic() + task.retryDelay, id))
            return
        }
        jobs[id] = nil
        if let i = job.mapIndex {
            finishChild(job.task, i, state, attempt: job.call.attempt, duration: duration)
        } else {
            finish(job.task, state, attempt: job.call.attempt, duration: duration)
        }
    }

    // MARK: Finishing tasks

    private func finishChild(_ t: Int, _ i: Int, _ state: TaskState, attempt: Int, duration: Double?) {
        let slug = graph.spec.tasks[t].slug
        observer?.handle(.taskState(TaskRunID(task: slug, mapIndex: i), state, attempt: attempt, duration: duration, time: Clock.wall()))
        children[t]![i] = state
        childrenLeft[t]! -= 1
        guard childrenLeft[t] == 0 else { return }
        let done = children.removeValue(forKey: t)!.map { $0! }
        let failed = done.filter(\.isFailed).count
        let message = failed == 0 ? "Mapped \(done.count) items" : "Mapped \(done.count) items; \(failed) failed"
        let result = Value.array(done.map { $0.isSuccessful ? $0.result : .null })
        finish(t, TaskState(.mapped, message: message, result: result, children: done), attempt: 0, duration: nil)
    }

    private func finish(_ t: Int, _ state: TaskState, attempt: Int, duration: Double?) {
        states[t] = state
        counts[state.kind, default: 0] += 1
        observer?.handle(.taskState(TaskRunID(task: graph.spec.tasks[t].slug), state, attempt: attempt, duration: duration, time: Clock.wall()))
        for d in graph.downstream[t] {
            unfinishedUpstream[d] -= 1
            if unfinishedUpstream[d] == 0 && !Interruption.requested { ready.append(d) }
        }
    }

    private func flowState(interrupted: Bool) -> TaskState {
        if interrupted { return TaskState(.cancelled, message: "The flow run was interrupted") }
        let reference = graph.referenceTaskIndices
        let failed = reference.filter { !states[$0]!.isSuccessful }
        if failed.isEmpty { return TaskState(.success, message: "All reference tasks succeeded.") }
        let names = failed.prefix(5).map { graph.spec.tasks[$0].slug }.joined(separator: ", ")
        return TaskState(.failed, message: "Some reference tasks failed: \(names)\(failed.count > 5 ? ", ..." : "")")
    }
}
