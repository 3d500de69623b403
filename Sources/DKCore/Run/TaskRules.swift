/// The rules of one task run that every place tasks run shares (the flow runner here, the
/// worker task server on Dask): whether it starts, what an attempt's outcome means, what
/// follows it (a retry, the next loop), and a mapped task's and a flow's state.
public enum TaskRules {
    /// Prefect 1's order for a task (or one child of a mapped task): it waits behind a paused
    /// upstream task, a skipped upstream skips it (unless it opts out), then its trigger
    /// (unless it is approved: Prefect 1's Resume state skips it too). nil means it runs.
    /// - Parameters:
    ///   - upstream: the upstream states as Prefect looks at them (`TaskInputs` gathers them).
    ///   - hasUpstream: whether the task has upstream tasks at all.
    ///   - approved: whether the run approves it (`dkrun resume`).
    public static func preflight(_ task: TaskSpec, _ upstream: [TaskState], hasUpstream: Bool, approved: Bool = false) -> TaskState? {
        if let held = waiting(task, upstream) ?? skipped(task, upstream) { return held }
        return approved ? nil : task.trigger.check(upstream.map(\.kind), hasUpstream: hasUpstream)
    }

    /// The checks a mapped task's parent makes before mapping (no trigger: each child checks it).
    public static func preflightMapping(_ task: TaskSpec, _ upstream: [TaskState]) -> TaskState? {
        waiting(task, upstream) ?? skipped(task, upstream)
    }

    private static func waiting(_ task: TaskSpec, _ upstream: [TaskState]) -> TaskState? {
        upstream.contains(where: \.holdsDownstream) ? TaskState(.pending, message: "Waiting for a paused upstream task") : nil
    }

    private static func skipped(_ task: TaskSpec, _ upstream: [TaskState]) -> TaskState? {
        guard task.skipOnUpstreamSkip, upstream.contains(where: { $0.kind == .skipped }) else { return nil }
        return TaskState(.skipped, message: "Upstream task was skipped")
    }

    /// Whether the task's state handlers are called for `state`, which it reached without
    /// running. As in Prefect 1 they are called for a change of state: not for a task that
    /// stays Pending behind a paused one.
    public static func handlersSettle(_ task: TaskSpec, _ state: TaskState) -> Bool {
        task.hasStateHandlers && state.kind != .pending
    }

    /// The state an attempt's outcome puts the task in, before retries are considered.
    public static func state(after outcome: TaskOutcome) -> TaskState {
        switch outcome {
        case .success(let v): return TaskState(.success, result: v)
        case .skipped(let message): return TaskState(.skipped, message: message)
        case .interrupted: return TaskState(.cancelled, message: "Interrupted")
        case .failed(let message, let traceback): return TaskState(.failed, message: message, traceback: traceback)
        case .timedOut(let message): return TaskState(.timedOut, message: message)
        case .looped(let result, let message): return TaskState(.looped, message: message, result: result)
        case .paused(let message): return TaskState(.paused, message: message)
        case .handled(let state), .ended(let state): return state
        }
    }

    /// What follows an attempt.
    public enum Next: Equatable {
        /// The task's final state.
        case done(TaskState)
        /// A failed attempt is tried again after `delay` seconds; the state is `Retrying`.
        case retry(TaskState, delay: Double)
        /// `dk.loop`: the next iteration runs at once; the state is `Looped`.
        case loop(TaskState)
    }

    /// What follows an attempt that ended in `outcome`; `call` becomes the next attempt's.
    public static func next(after outcome: TaskOutcome, _ call: inout TaskCall) -> Next {
        let state = state(after: outcome)
        if case .ended = outcome { return .done(state) }
        let task = call.task
        if state.kind == .looped && !Interruption.requested {
            call.loopCount += 1
            call.loopResult = state.result
            return .loop(state)
        }
        guard state.isFailed, call.attempt <= task.maxRetries, !Interruption.requested else { return .done(state) }
        let why = state.message ?? state.kind.rawValue
        let retrying = TaskState(.retrying, message: "\(why); retry \(call.attempt) of \(task.maxRetries) in \(Clock.describe(task.retryDelay))")
        call.attempt += 1
        return .retry(retrying, delay: task.retryDelay)
    }

    /// A mapped task's state once its children have finished: Mapped, with the children's
    /// results (nil for a child that did not succeed) as its result.
    public static func mappedState(_ children: [TaskState]) -> TaskState {
        if children.isEmpty { return TaskState(.mapped, message: "Mapped over no items", result: .array([])) }
        let failed = children.filter(\.isFailed).count
        let message = failed == 0 ? "Mapped \(children.count) items" : "Mapped \(children.count) items; \(failed) failed"
        return TaskState(.mapped, message: message, result: .array(children.map { $0.isSuccessful ? $0.result : .null }),
                         children: children)
    }

    /// A finished flow run's state, as Prefect 1 decides it from the reference tasks' states
    /// (a mapped task's children in its place): Paused while a task waits for approval,
    /// Failed when one of them failed, otherwise Success; Cancelled when one of them was
    /// stopped (where Prefect 1 says "Success: no reference tasks failed").
    public static func flowState(_ graph: FlowGraph, _ state: (Int) -> TaskState) -> TaskState {
        let paused = (0 ..< graph.count).filter { state($0).flattened.contains { $0.kind == .paused } }
        if !paused.isEmpty {
            return TaskState(.paused, message: "Paused: \(names(paused, graph)) wait\(paused.count == 1 ? "s" : "") for approval")
        }
        let references = graph.referenceTaskIndices
        let failed = references.filter { state($0).flattened.contains(where: \.isFailed) }
        if !failed.isEmpty { return TaskState(.failed, message: "Some reference tasks failed: \(names(failed, graph))") }
        let cancelled = references.filter { state($0).flattened.contains { $0.kind == .cancelled } }
        if !cancelled.isEmpty {
            return TaskState(.cancelled, message: "Some reference tasks were cancelled: \(names(cancelled, graph))")
        }
        return TaskState(.success, message: "All reference tasks succeeded.")
    }

    private static func names(_ tasks: [Int], _ graph: FlowGraph) -> String {
        tasks.prefix(5).map { graph.spec.tasks[$0].slug }.joined(separator: ", ") + (tasks.count > 5 ? ", ..." : "")
    }
}
