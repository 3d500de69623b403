/// What every task of one flow run sees of the run (Prefect 1's flow-run context): made once
/// per run where it starts, and sent with each task to wherever it runs.
public struct FlowRunContext: Sendable, Equatable {
    /// `flow_run_id`, a UUID; also the run's name, as Prefect 1's `flow.run()` names it.
    public var id: String
    public var flowName: String
    /// When the run started (wall seconds): `scheduled_start_time`, and the day of `today`.
    public var scheduledStart: Double
    /// The run's parameter values by name.
    public var parameters: [String: Value]
    /// The id of the run this one resumes (`dkrun FLOW.lua --resume`), or nil.
    public var resumes: String?
    /// What keeps results for a later resume: the run's writer in a run here, the task
    /// server's on a Dask worker (it does not cross processes); nil: each result is written
    /// as it comes.
    public var kept: KeptResults?
    /// The tasks (slugs) this run approves (`dkrun resume` of a paused run): their trigger is
    /// not checked, and `dk.pause()` in them returns (`dk.context.resume` is true).
    public var approved: Set<String> = []
    /// Whether the run keeps results for a resume at all: a run of `dkrun FLOW.lua` does (not
    /// on Kubernetes without a shared location: `KeptPlace.keepsOnKubernetes`); a flow run by
    /// the library alone (tests, embedders) keeps nothing unless it asks.
    public var keepsResults = false

    public init(id: String = UUID4.make(), flowName: String, scheduledStart: Double = Clock.wall(),
                parameters: [String: Value], resumes: String? = nil) {
        self.id = id
        self.flowName = flowName
        self.scheduledStart = scheduledStart
        self.parameters = parameters
        self.resumes = resumes
    }

    /// The context as a map, to cross processes (the Dask driver passes it to the workers).
    public var value: Value {
        var m: [String: Value] = ["id": .text(id), "flow": .text(flowName), "start": .float(scheduledStart),
                                  "parameters": Value(textKeys: parameters)]
        if let r = resumes { m["resumes"] = .text(r) }
        if !approved.isEmpty { m["approved"] = .array(approved.sorted().map(Value.text)) }
        if keepsResults { m["keeps_results"] = true }
        return Value(textKeys: m)
    }

    public init(value: Value) throws {
        guard let id = value["id"]?.stringValue, let flow = value["flow"]?.stringValue,
              let start = value["start"]?.numberValue else {
            throw FlowError("not a flow run context: \(JSON.encode(value))")
        }
        self.init(id: id, flowName: flow, scheduledStart: start, parameters: value["parameters"]?.textKeyed ?? [:],
                  resumes: value["resumes"]?.stringValue)
        approved = Set((value["approved"]?.arrayValue ?? []).compactMap(\.stringValue))
        keepsResults = value["keeps_results"]?.boolValue ?? false
    }
}

/// One attempt at running one task: what an invoker needs to call the task's function.
public struct TaskCall: Sendable {
    public var id: TaskRunID
    /// The task, held by reference: a call is copied several times between its queue and its
    /// kept result, and a copy of a task's description (~600 bytes, a dozen references to
    /// retain) cost a no-op task more than its arguments. Inlinable, so that reading a field
    /// from another module reads that field, not a copy of the whole description.
    @inlinable public var task: TaskSpec { held.task }
    @usableFromInline let held: HeldTask
    /// Argument values by parameter name (or "#n" for extra positional arguments of a vararg function).
    public var arguments: [String: Value]
    /// Counts from 1; a retry adds one.
    public var attempt: Int
    /// Counts from 1; each `dk.loop` adds one, and its result is `loopResult` for the next.
    public var loopCount = 1
    public var loopResult: Value?
    public var run: FlowRunContext
    /// In a resumed run: whether a result this task kept in an earlier run may stand in for
    /// running it (nothing upstream ran again: `TaskInputs.upstreamAllCached`).
    public var resumable = false

    public init(id: TaskRunID, task: TaskSpec, arguments: [String: Value], attempt: Int = 1, run: FlowRunContext) {
        self.id = id
        held = HeldTask(task)
        self.arguments = arguments
        self.attempt = attempt
        self.run = run
    }
}

/// A task's description, shared by the copies of a call.
@usableFromInline final class HeldTask: Sendable {
    @usableFromInline let task: TaskSpec

    init(_ task: TaskSpec) { self.task = task }
}

/// How an attempt ended, before retries are considered.
public enum TaskOutcome: Sendable, Equatable {
    case success(Value)
    /// An error in the task, or `dk.fail`.
    case failed(message: String, traceback: String?)
    /// `dk.skip`.
    case skipped(message: String)
    case timedOut(message: String)
    /// `dk.loop(result)`: run the task again with `result` as `dk.context.loop_result`.
    case looped(result: Value, message: String)
    /// `dk.pause`: the task waits for approval.
    case paused(message: String)
    /// The state the task's state handlers chose.
    case handled(TaskState)
    /// A state that ends the task at once, never retried nor looped: a state handler that
    /// raised an error, a task run name that cannot be made (as in Prefect 1).
    case ended(TaskState)
    case interrupted
}

/// Runs task functions: the Lua host implements it, one per Lua state. An invoker is used by
/// one thread at a time.
public protocol TaskInvoker: AnyObject {
    /// Runs the call; `log` receives the task's log lines (dk.log, print) as they happen.
    /// A task with state handlers has them called as it starts and ends (`.handled`).
    func invoke(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome
    /// Calls the task's state handlers for a state it reached without running (skipped,
    /// trigger failed, paused); returns the state they leave (`.handled`).
    func settle(_ call: TaskCall, _ state: TaskState, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome
    /// The source text of the task's own function (for its identity, `TaskIdentity`).
    func functionText(of task: TaskSpec) -> [UInt8]
    /// The part of a task's identity its calls share (its function's text and its options):
    /// an invoker that runs many calls of a task makes it once.
    func identityPart(of task: TaskSpec) -> TaskIdentity.TaskPart
    /// Reads and writes results in `location` (S3 needs the host's HTTP client and secrets).
    func resultStore(_ location: ResultLocation) throws -> ResultStore
    /// Where the task's results go in run `run`: an invoker that runs many calls of a task
    /// makes it once.
    func storage(of task: TaskSpec, run: String) throws -> TaskStorage
}

extension TaskInvoker {
    public func storage(of task: TaskSpec, run: String) throws -> TaskStorage {
        try TaskStorage(task: task, run: run, stores: resultStore)
    }

    public func identityPart(of task: TaskSpec) -> TaskIdentity.TaskPart {
        TaskIdentity.TaskPart(task: task, code: functionText(of: task))
    }
}
