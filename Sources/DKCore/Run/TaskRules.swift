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
}
