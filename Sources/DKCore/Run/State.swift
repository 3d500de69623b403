/// The states a task run goes through, as in Prefect 1. `Skipped`, `Mapped` and `Cached` (a
/// stored result used in place of a run: a target, a cache; Prefect's Success subclass) count
/// as successes; `TriggerFailed` and `TimedOut` as failures; `Cancelled` is finished but neither.
/// `Paused` (waiting for approval) is not finished, and neither are the tasks behind it, which
/// stay `Pending`; `Looped` is reported between the iterations of a looping task.
public enum StateKind: String, Sendable, CaseIterable {
    case pending = "Pending"
    case running = "Running"
    case success = "Success"
    case failed = "Failed"
    case retrying = "Retrying"
    case skipped = "Skipped"
    case triggerFailed = "TriggerFailed"
    case timedOut = "TimedOut"
    case cancelled = "Cancelled"
    case mapped = "Mapped"
    case paused = "Paused"
    case looped = "Looped"
    case cached = "Cached"

    public var isFinished: Bool {
        switch self {
        case .pending, .running, .retrying, .paused, .looped: return false
        default: return true
        }
    }

    public var isSuccessful: Bool { self == .success || self == .skipped || self == .mapped || self == .cached }
    public var isFailed: Bool { self == .failed || self == .triggerFailed || self == .timedOut }
    public var isSkipped: Bool { self == .skipped }
}

/// The state of one task run (or of a whole flow run): its kind, a message saying why, the
/// result for a successful run, and for a mapped task the states of its children.
public struct TaskState: Sendable, Equatable {
    public var kind: StateKind
    public var message: String?
    public var result: Value
    public var children: [TaskState]
    /// Where the failure happened (a Lua traceback), when there is one.
    public var traceback: String?
    /// Where the result is stored (its checkpoint, target or cache entry, or where it is kept
    /// for a resume), or where a Cached result was found: "KEY in LOCATION".
    public var resultLocation: String?

    public init(_ kind: StateKind, message: String? = nil, result: Value = .null,
                children: [TaskState] = [], traceback: String? = nil, resultLocation: String? = nil) {
        self.kind = kind
        self.message = message
        self.result = result
        self.children = children
        self.traceback = traceback
        self.resultLocation = resultLocation
    }

    public var isFinished: Bool { kind.isFinished }
    public var isSuccessful: Bool { kind.isSuccessful }
    public var isFailed: Bool { kind.isFailed }

    /// The states Prefect 1 looks at in this one's place when it decides triggers, skips and
    /// the flow's state: a mapped task's children, otherwise the state itself.
    public var flattened: [TaskState] {
        var states: [TaskState] = []
        appendFlattened(to: &states)
        return states
    }

    /// Appends `flattened` to `states` (no array of its own).
    public func appendFlattened(to states: inout [TaskState]) {
        if kind == .mapped { states += children } else { states.append(self) }
    }

    /// Whether the tasks behind this one must wait: it is paused, or still pending behind a
    /// paused task. A mapped task has finished, whatever its children: where Prefect 1 looks
    /// at its children instead (`flattened`), a held child holds the task behind it, and a
    /// task mapped over it maps, its child behind the held one waiting.
    public var holdsDownstream: Bool { kind == .paused || kind == .pending }

    /// The state as the run keeps it once nothing downstream reads its result: its kind and
    /// message, its children's likewise; what was reported as it was reached (the result,
    /// the traceback, where the result is stored) let go.
    public var released: TaskState {
        TaskState(kind, message: message, children: children.map(\.released))
    }
}

extension TaskState {
    /// The state as a map, to cross processes (the worker protocol, the Dask driver's events).
    public var value: Value {
        var m: [Value: Value] = ["kind": .text(kind.rawValue), "result": result]
        if let message { m["message"] = .text(message) }
        if let traceback { m["traceback"] = .text(traceback) }
        if let resultLocation { m["result_location"] = .text(resultLocation) }
        if !children.isEmpty { m["children"] = .array(children.map(\.value)) }
        return .map(m)
    }

    public init(value: Value) throws {
        guard let name = value["kind"]?.stringValue, let kind = StateKind(rawValue: name) else {
            throw FlowError("not a task state: \(JSON.encode(value))")
        }
        self.init(kind, message: value["message"]?.stringValue, result: value["result"] ?? .null,
                  children: try (value["children"]?.arrayValue ?? []).map(TaskState.init(value:)),
                  traceback: value["traceback"]?.stringValue, resultLocation: value["result_location"]?.stringValue)
    }
}
