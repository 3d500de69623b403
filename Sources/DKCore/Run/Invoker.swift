/// One attempt at running one task: what an invoker needs to call the task's function.
public struct TaskCall: Sendable {
    public var id: TaskRunID
    public var task: TaskSpec
    /// Argument values by parameter name (or "#n" for extra positional arguments of a vararg function).
    public var arguments: [String: Value]
    public var attempt: Int
    public var flowName: String
    public var parameters: [String: Value]

    public init(id: TaskRunID, task: TaskSpec, arguments: [String: Value], attempt: Int, flowName: String,
                parameters: [String: Value]) {
        self.id = id
        self.task = task
        self.arguments = arguments
        self.attempt = attempt
        self.flowName = flowName
        self.parameters = parameters
    }
}

/// How an attempt ended, before retries are considered.
public enum TaskOutcome: Sendable, Equatable {
    case success(Value)
    /// An error in the task, or `dk.fail`.
    case failed(message: String, traceback: String?)
    /// `dk.skip`.
    case skipped(message: String)
    case timedOut(message: String)
    case interrupted
}

/// Runs task functions: the Lua host implements it, one per Lua state. An invoker is used by
/// one thread at a time.
public protocol TaskInvoker: AnyObject {
    /// Runs the call; `log` receives the task's log lines (dk.log, print) as they happen.
    func invoke(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome
}
