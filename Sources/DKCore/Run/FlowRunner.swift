/// The result of a flow run: the flow's state and every task's final state.
public struct FlowRunResult: Sendable {
    public var state: TaskState
    public var taskStates: [String: TaskState]
    public var wall: Double
    /// Whether the run was refused as bad input before its tasks ran (its cluster cannot
    /// offer what a task needs): it ends Failed, and exits 2.
    public var refused = false

    public init(state: TaskState, taskStates: [String: TaskState], wall: Double) {
        self.state = state
        self.taskStates = taskStates
        self.wall = wall
    }

    /// The exit status of the run.
    public var exitStatus: ExitStatus { refused ? .badInput : ExitStatus(flowState: state) }
}

/// Runs a validated flow on an executor: starts each task when its upstream tasks have
/// finished, decides skips and triggers, expands mapped tasks from their upstream results,
/// schedules retries, keeps the flow's tag limits, and reports every transition to the
/// observer. Task attempts run on the executor; everything else happens in the calling thread.
///
/// On an executor that maps depth-first, a mapped task that maps over mapped tasks whose
/// children are running starts as soon as it can decide its width (its other upstream tasks
/// have finished), and its child i starts when child i of each of those has ended: it sees
/// their Mapped state as it will be, with child i final (docs/lua-api.md, Mapping).
public final class FlowRunner {
    private let graph: FlowGraph
    private let context: FlowRunContext
    private let executor: Executor
    private let observer: RunObserver?

    private var states: [TaskState?]
    private var unfinishedUpstream: [Int]
    /// Whether a task's state lets its result go once the tasks downstream of it have ended
    /// (`FlowExecution.returnsTaskResults` false), unless it is a reference task.
    private let releasesResults: Bool
    private var unfinishedDownstream: [Int]
    private let referenceTasks: Set<Int>
    private var ready: [Int] = []
    private var inFlight = 0
    /// Mapped tasks whose children have started and not all ended.
    private var mappedRuns: [Int: MappedRun] = [:]
    /// The mapped tasks that started early after each mapped task (in `mappedRuns`), whose
    /// child i waits for its child i.
    private var followers: [Int: [Int]] = [:]
    private var nextSequence = 0
    /// Attempts waiting for their retry delay, as (due time, job id).
    private var retries: [(due: Double, id: Int)] = []
    private var jobs: [Int: PendingJob] = [:]
    private var nextJobID = 0
    private var counts: [StateKind: Int] = [:]
    /// Tag limits: the slots taken of each limited tag, and the jobs waiting for theirs
    /// (highest priority first). A task run holds its slots from its first attempt to its
    /// final state, retry delays included, as it does on Dask.
    private var slotsTaken: [String: Int] = [:]
    private var waitingForSlots: [(id: Int, priority: Int)] = []

    /// The children of a mapped task so far: what its downstream tasks see of it before it
    /// ends (its Mapped state, with the children still running Pending).
    private struct MappedRun {
        var states: [TaskState]
        var results: [Value]
        var ended: [Bool]
        var left: Int
        /// For each child: how many upstream mapped tasks it still waits for the same child of.
        var waiting: [Int]
        /// Where each child's last attempt was queued, for the children that follow it.
        var places: [QueuePlace?]

        init(width: Int) {
            states = Array(repeating: TaskState(.pending), count: width)
            results = Array(repeating: .null, count: width)
            ended = Array(repeating: false, count: width)
            left = width
            waiting = Array(repeating: 0, count: width)
            places = Array(repeating: nil, count: width)
        }

        /// The task's Mapped state as `TaskRules.mappedState` makes it, children so far.
        var state: TaskState { TaskState(.mapped, result: .array(results), children: states) }
    }

    /// A task run from its first attempt to its final state. A class: a fan of 100,000 tasks
    /// queues them all at once, and its call (a task's whole description) is held once, by
    /// the run and by the queued job alike. Between its submission and its result only the
    /// executor reads it.
    private final class PendingJob {
        let task: Int
        let mapIndex: Int?
        var call: TaskCall
        /// A state reached without running, for the task's state handlers to settle.
        let decided: TaskState?
        /// The task's tags that have a limit, and whether it holds their slots.
        let limited: [String]
        var holdsSlots = false
        /// Where the job queues when it follows an upstream child (depth-first), instead of
        /// after the jobs submitted before it.
        let follows: QueuePlace?

        init(task: Int, mapIndex: Int?, call: TaskCall, decided: TaskState?, limited: [String], follows: QueuePlace?) {
            self.task = task
            self.mapIndex = mapIndex
            self.call = call
            self.decided = decided
            self.limited = limited
            self.follows = follows
        }
    }

    /// - Parameters:
    ///   - context: the run's; its parameters are resolved values (see
    ///     `FlowGraph.resolveParameters`).
    ///   - releasesResults: whether the run's result may leave out the results of the tasks
    ///     that are not reference tasks, so that each is let go once nothing downstream reads
    ///     it (a run of `dkrun FLOW.lua` reports none); false: it holds every task's result.
    public init(graph: FlowGraph, context: FlowRunContext, executor: Executor, observer: RunObserver?, releasesResults: Bool = false) {
        self.graph = graph
        self.context = context
        self.executor = executor
        self.observer = observer
        self.releasesResults = releasesResults
        states = Array(repeating: nil, count: graph.count)
        unfinishedUpstream = graph.upstream.map(\.count)
        unfinishedDownstream = releasesResults ? graph.downstream.map(\.count) : []
        referenceTasks = releasesResults ? Set(graph.referenceTaskIndices) : []
    }

    public func run() -> FlowRunResult {
        let started = Clock.monotonic()
        observer?.handle(.flowStarted(flow: graph.spec.name, tasks: graph.count, executor: executor.name, time: Clock.wall()))
        for warning in graph.spec.unusedLimits + resourcesIgnored() {
            observer?.handle(.log(nil, .warning, warning, time: Clock.wall()))
        }
        ready = (0 ..< graph.count).filter { unfinishedUpstream[$0] == 0 }.reversed()
        loop()
        let interrupted = Interruption.requested
        for t in 0 ..< graph.count where states[t] == nil {
            if let run = mappedRuns[t] {
                // Children waiting for an upstream child that Ctrl-C kept from running.
                for i in run.ended.indices where !run.ended[i] { finishChild(t, i, Self.notStarted, attempt: 0, duration: nil) }
            } else {
                finish(t, Self.notStarted, attempt: 0, duration: nil)
            }
        }
        let state = flowState(interrupted: interrupted)
        let wall = Clock.monotonic() - started
        observer?.handle(.flowFinished(flow: graph.spec.name, state: state, counts: counts, wall: wall, time: Clock.wall()))
        // Sized at once: grown by doubling, its last growth (old and new storage alive) was
        // 38 MB of the heap's peak, at the end of a 100,000-task run.
        var taskStates = [String: TaskState](minimumCapacity: graph.count)
        for (t, s) in states.enumerated() { taskStates[graph.spec.tasks[t].slug] = s }
        return FlowRunResult(state: state, taskStates: taskStates, wall: wall)
    }

    /// Resources mean something only to a Dask cluster's workers: said once for each task that asks.
    private func resourcesIgnored() -> [String] {
        graph.spec.tasks.filter { !$0.resources.isEmpty }.map {
            "task '\($0.slug)' asks for resources \(TaskResources.describe($0.resources)), which only Dask workers offer: "
                + "the \(executor.name) executor runs it without them"
        }
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
            finish(t, TaskState(.success, result: context.parameters[task.slug] ?? p.defaultValue), attempt: 1, duration: 0)
            return
        }
        let inputs = inputs(t)
        switch inputs.start() {
        // A mapped task's parent has no state handlers called (its children do).
        case .ends(let state) where graph.isMapped(t): finish(t, state, attempt: 0, duration: nil)
        case .ends(let state): end(t, mapIndex: nil, state, inputs)
        case .runs: enqueue(t, mapIndex: nil, inputs)
        case .maps(let width): startMapped(t, width, inputs)
        }
    }

    /// The inputs of task `t`, from its upstream tasks' final states, or the Mapped state so
    /// far of a mapped upstream task it follows child by child.
    private func inputs(_ t: Int) -> TaskInputs {
        var inputs = TaskInputs(graph: graph, task: t) { self.states[$0] ?? self.mappedRuns[$0]!.state }
        inputs.approved = context.approved.contains(graph.spec.tasks[t].slug)
        return inputs
    }

    private func startMapped(_ t: Int, _ width: Int, _ inputs: TaskInputs) {
        var run = MappedRun(width: width)
        // The upstream mapped tasks still running, which it follows child by child.
        let running = graph.upstream[t].filter { states[$0] == nil }
        for u in running {
            followers[u, default: []].append(t)
            for i in 0 ..< width where !mappedRuns[u]!.ended[i] { run.waiting[i] += 1 }
        }
        mappedRuns[t] = run
        for i in 0 ..< width where run.waiting[i] == 0 { startChild(t, i, inputs) }
        for d in graph.downstream[t] where followsChildByChild(d) { start(d) }
    }

    private func startChild(_ t: Int, _ i: Int, _ inputs: TaskInputs) {
        if let state = inputs.preflight(child: i) {
            end(t, mapIndex: i, state, inputs)
        } else {
            enqueue(t, mapIndex: i, inputs)
        }
    }

    /// Whether mapped task `d` can start now, before all its upstream tasks have finished:
    /// each has finished, or is a mapped task whose children are running that `d` maps over
    /// child by child.
    private func followsChildByChild(_ d: Int) -> Bool {
        guard executor.mapsDepthFirst, graph.isMapped(d), states[d] == nil, mappedRuns[d] == nil, !Interruption.requested else {
            return false
        }
        return graph.upstream[d].allSatisfy { u in states[u] != nil || mappedRuns[u] != nil && graph.mapsChildByChild(d, over: u) }
    }

    /// A task (or child) that ends without running; its state handlers settle the state first.
    private func end(_ t: Int, mapIndex: Int?, _ state: TaskState, _ inputs: TaskInputs) {
        if TaskRules.handlersSettle(graph.spec.tasks[t], state) {
            enqueue(t, mapIndex: mapIndex, inputs, decided: state)
        } else if let i = mapIndex {
            finishChild(t, i, state, attempt: 0, duration: nil)
        } else {
            finish(t, state, attempt: 0, duration: nil)
        }
    }

    // MARK: Running attempts

    private func enqueue(_ t: Int, mapIndex: Int?, _ inputs: TaskInputs, decided: TaskState? = nil) {
        var call = TaskCall(id: TaskRunID(task: graph.spec.tasks[t].slug, mapIndex: mapIndex), task: graph.spec.tasks[t],
                            arguments: inputs.arguments(mapIndex: mapIndex), run: context)
        call.resumable = context.resumes != nil && inputs.upstreamAllCached(mapIndex: mapIndex)
        let id = nextJobID
        nextJobID += 1
        let limited = Set(call.task.tags.filter { graph.spec.limits[$0] != nil }).sorted()
        jobs[id] = PendingJob(task: t, mapIndex: mapIndex, call: call, decided: decided, limited: limited,
                              follows: mapIndex.flatMap { followedPlace(t, $0) })
        if limited.isEmpty || takeSlots(id) {
            submit(id)
        } else {
            // After every waiting job of its priority or higher: found from the end, where a
            // job of the same priority as the last (the common case) goes at once.
            var at = waitingForSlots.endIndex
            while at > 0, waitingForSlots[at - 1].priority < call.task.priority { at -= 1 }
            waitingForSlots.insert((id, call.task.priority), at: at)
        }
    }

    /// Where child `i` of `t` queues when it follows upstream children: right after the latest
    /// of them, one level deeper.
    private func followedPlace(_ t: Int, _ i: Int) -> QueuePlace? {
        let places = graph.upstream[t].compactMap { u in
            followers[u]?.contains(t) == true ? mappedRuns[u]?.places[i] : nil
        }
        return places.max().map { QueuePlace(sequence: $0.sequence, depth: $0.depth + 1) }
    }

    /// Takes the job's slots if every one of its limited tags has one free.
    private func takeSlots(_ id: Int) -> Bool {
        let tags = jobs[id]!.limited
        guard tags.allSatisfy({ slotsTaken[$0, default: 0] < graph.spec.limits[$0]! }) else { return false }
        for tag in tags { slotsTaken[tag, default: 0] += 1 }
        jobs[id]!.holdsSlots = true
        return true
    }

    /// Gives back a finished job's slots and starts the waiting jobs that now fit.
    private func releaseSlots(_ job: PendingJob) {
        guard job.holdsSlots else { return }
        for tag in job.limited { slotsTaken[tag]! -= 1 }
        var i = 0
        while i < waitingForSlots.count, slotsTaken.contains(where: { $0.value < graph.spec.limits[$0.key]! }) {
            let id = waitingForSlots[i].id
            if takeSlots(id) {
                waitingForSlots.remove(at: i)
                submit(id)
            } else {
                i += 1
            }
        }
    }

    /// The state of a task that Ctrl-C kept from starting: one that was never queued, or a job
    /// queued before it that an executor takes after (a mapped task queues its children at once).
    private static let notStarted = TaskState(.cancelled, message: "The flow run was interrupted before this task ran")

    private func submit(_ id: Int) {
        let job = jobs[id]!
        let (callID, observer) = (job.call.id, self.observer)
        inFlight += 1
        let log: @Sendable (LogLevel, String) -> Void = { level, message in
            observer?.handle(.log(callID, level, message, time: Clock.wall()))
        }
        let place = job.follows ?? QueuePlace(sequence: nextSequence)
        nextSequence += 1
        if let i = job.mapIndex { mappedRuns[job.task]?.places[i] = place }
        executor.submit(id: id, priority: job.call.task.priority, place: place) { invoker in
            let call = job.call
            if Interruption.requested { return .handled(Self.notStarted) }
            if let decided = job.decided { return invoker.settle(call, decided, log: log) }
            if let stored = TaskRules.storedOutcome(call, invoker, log: log) { return stored }
            observer?.handle(.taskState(call.id, TaskState(.running), attempt: call.attempt, duration: nil, time: Clock.wall()))
            return TaskRules.storing(invoker.invoke(call, log: log), call, invoker, log: log)
        }
    }

    private func complete(_ result: JobResult) {
        let (id, duration) = (result.id, result.duration)
        let job = jobs[id]!
        let callID = job.call.id
        let attempt = job.decided == nil ? job.call.attempt : 0
        // A settled state is final: it was not an attempt, so nothing retries or loops.
        let next = job.decided == nil ? TaskRules.next(after: result.outcome, &job.call)
            : .done(TaskRules.state(after: result.outcome))
        switch next {
        case .retry(let retrying, let delay):
            observer?.handle(.taskState(callID, retrying, attempt: attempt, duration: duration, time: Clock.wall()))
            retries.append((Clock.monotonic() + delay, id))
        case .loop(let looped):
            observer?.handle(.taskState(callID, looped, attempt: attempt, duration: duration, time: Clock.wall()))
            submit(id)
        case .done(let state):
            jobs[id] = nil
            releaseSlots(job)
            if let i = job.mapIndex {
                finishChild(job.task, i, state, attempt: attempt, duration: duration)
            } else {
                finish(job.task, state, attempt: attempt, duration: duration)
            }
        }
    }

    // MARK: Finishing tasks

    private func finishChild(_ t: Int, _ i: Int, _ state: TaskState, attempt: Int, duration: Double?) {
        let slug = graph.spec.tasks[t].slug
        observer?.handle(.taskState(TaskRunID(task: slug, mapIndex: i), state, attempt: attempt, duration: duration, time: Clock.wall()))
        mappedRuns[t]!.states[i] = state
        mappedRuns[t]!.results[i] = state.isSuccessful ? state.result : .null
        mappedRuns[t]!.ended[i] = true
        mappedRuns[t]!.left -= 1
        counts[state.kind, default: 0] += 1
        for d in followers[t] ?? [] where mappedRuns[d]?.waiting.indices.contains(i) == true {
            mappedRuns[d]!.waiting[i] -= 1
            if mappedRuns[d]!.waiting[i] == 0 && !Interruption.requested { startChild(d, i, inputs(d)) }
        }
        guard mappedRuns[t]!.left == 0 else { return }
        followers[t] = nil
        finish(t, TaskRules.mappedState(mappedRuns.removeValue(forKey: t)!.states), attempt: 0, duration: nil)
    }

    private func finish(_ t: Int, _ state: TaskState, attempt: Int, duration: Double?) {
        states[t] = state
        counts[state.kind, default: 0] += 1
        observer?.handle(.taskState(TaskRunID(task: graph.spec.tasks[t].slug), state, attempt: attempt, duration: duration, time: Clock.wall()))
        for d in graph.downstream[t] {
            unfinishedUpstream[d] -= 1
            // A task that follows this one child by child has started already.
            if unfinishedUpstream[d] == 0 && !Interruption.requested && mappedRuns[d] == nil && states[d] == nil {
                ready.append(d)
            } else if followsChildByChild(d) {  // its last upstream task not mapped child by child
                start(d)
            }
        }
        guard releasesResults else { return }
        // Every run of this task has its arguments: the upstream results are read no more.
        for u in graph.upstream[t] {
            unfinishedDownstream[u] -= 1
            release(u)
        }
        release(t)
    }

    /// Lets task `t`'s result go when it has ended, so have the tasks downstream of it, and
    /// the run does not report it.
    private func release(_ t: Int) {
        guard unfinishedDownstream[t] == 0, !referenceTasks.contains(t), let state = states[t] else { return }
        states[t] = state.released
    }

    private func flowState(interrupted: Bool) -> TaskState {
        if interrupted { return TaskState(.cancelled, message: "The flow run was interrupted") }
        return TaskRules.flowState(graph) { self.states[$0]! }
    }
}
