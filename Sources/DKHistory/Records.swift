import DKCore

/// One flow run as the history keeps it.
public struct RunRecord: Sendable, Equatable {
    /// Where a run's tasks ran: on this machine (with its executor), or in a Kubernetes Job.
    public enum Placement: String, Sendable {
        case here, kubernetes
    }

    /// The run's id: `dk.context.flow_run_id`, and on Kubernetes the id its objects are labelled with.
    public var id: String
    public var flow: String
    /// The flow's DAG hash (`Payload.dagHash`); unknown for a Kubernetes run only followed here.
    public var dagHash: String?
    /// The parameter values the run had (secrets masked); unknown like the DAG hash.
    public var parameters: Value?
    public var placement: Placement
    /// As the run's start describes it ("local", "threads(4)", "dask(tcp://...)").
    public var executor: String?
    /// Wall-clock seconds.
    public var started: Double
    public var ended: Double?
    /// The flow's state: Running until it ends (or until the dkrun recording it stopped).
    public var state: StateKind
    public var message: String?
    /// The script it ran (an absolute path) and the parameter values it was given (secrets
    /// masked): what `dkrun resume` runs again. nil: not known (a run followed by its id).
    public var script: String?
    public var scriptParameters: Value?

    public init(id: String, flow: String, dagHash: String? = nil, parameters: Value? = nil, placement: Placement,
                executor: String? = nil, started: Double, ended: Double? = nil, state: StateKind, message: String? = nil,
                script: String? = nil, scriptParameters: Value? = nil) {
        self.id = id
        self.flow = flow
        self.dagHash = dagHash
        self.parameters = parameters
        self.placement = placement
        self.executor = executor
        self.started = started
        self.ended = ended
        self.state = state
        self.message = message
        self.script = script
        self.scriptParameters = scriptParameters
    }
}

/// One task run of a flow run (a task, or one child of a mapped task) as the history keeps it.
public struct TaskRunRecord: Sendable, Equatable {
    public var id: TaskRunID
    /// The task's place in the run: tasks are listed in the order they first changed state,
    /// a mapped task's children after it.
    public var position: Int
    public var state: StateKind
    /// The attempts made so far (1, and one more per retry).
    public var attempts: Int
    /// How long its last attempt took, once it has finished.
    public var duration: Double?
    /// Where it ran when that is not this process (a Dask worker's address).
    public var worker: String?
    /// Why it ended as it did (secrets masked).
    public var message: String?
    /// Where its result is stored; nil until results are stored.
    public var resultLocation: String?
    /// Wall-clock seconds: its first Running, its finished state.
    public var started: Double?
    public var ended: Double?

    public init(id: TaskRunID, position: Int, state: StateKind, attempts: Int, duration: Double? = nil, worker: String? = nil,
                message: String? = nil, resultLocation: String? = nil, started: Double? = nil, ended: Double? = nil) {
        self.id = id
        self.position = position
        self.state = state
        self.attempts = attempts
        self.duration = duration
        self.worker = worker
        self.message = message
        self.resultLocation = resultLocation
        self.started = started
        self.ended = ended
    }
}
