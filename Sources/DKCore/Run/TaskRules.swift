/// The rules of one task run that every place tasks run shares (the flow runner here, the
/// worker task server on Dask): whether it starts, what an attempt's outcome means, and
/// whether to retry.
public enum TaskRules {
    /// Prefect's order: a skipped upstream skips the task (unless it opts out), then the
    /// trigger. nil means the task runs.
    public static func preflight(_ task: TaskSpec, _ upstream: [StateKind]) -> TaskState? {
        if task.skipOnUpstreamSkip && upstream.contains(.skipped) {
            return TaskState(.skipped, message: "Upstream task was skipped")
        }
        return task.trigger.check(upstream)
    }

    /// The state an attempt's outcome puts the task in, before retries are considered.
    public static func state(after outcome: TaskOutcome) -> TaskState {
        switch outcome {
        case .success(let v): return TaskState(.success, result: v)
        case .skipped(let message): return TaskState(.skipped, message: message)
        case .interrupted: return TaskState(.cancelled, message: "Interrupted")
        case .failed(let message, let traceback): return TaskState(.failed, message: message, traceback: traceback)
        case .timedOut(let message): return TaskState(.timedOut, message: message)
        }
    }

    /// Whether a failed attempt is tried again (attempts count from 1).
    public static func shouldRetry(_ state: TaskState, task: TaskSpec, attempt: Int) -> Bool {
        state.isFailed && attempt <= task.maxRetries && !Interruption.requested
    }

    /// The Retrying state reported after failed attempt `attempt` (the failure said `why`).
    public static func retrying(_ why: String, task: TaskSpec, attempt: Int) -> TaskState {
        TaskState(.retrying, message: "\(why); retry \(attempt) of \(task.maxRetries) in \(Clock.describe(task.retryDelay))")
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

    /// A finished flow run's state: Success when every reference task succeeded.
    public static func flowState(_ graph: FlowGraph, _ state: (Int) -> TaskState) -> TaskState {
        let failed = graph.referenceTaskIndices.filter { !state($0).isSuccessful }
        if failed.isEmpty { return TaskState(.success, message: "All reference tasks succeeded.") }
        let names = failed.prefix(5).map { graph.spec.tasks[$0].slug }.joined(separator: ", ")
        return TaskState(.failed, message: "Some reference tasks failed: \(names)\(failed.count > 5 ? ", ..." : "")")
    }
}
