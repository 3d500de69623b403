/// Log levels of task log lines, as Python's logging names them.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug = 10, info = 20, warning = 30, error = 40, critical = 50

    public init?(name: String) {
        guard let l = LogLevel.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = l
    }

    public var name: String {
        switch self {
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Names one task run: a task, and for a child of a mapped task its index.
public struct TaskRunID: Sendable, Hashable, CustomStringConvertible {
    public var task: String
    public var mapIndex: Int?
    public init(task: String, mapIndex: Int? = nil) { self.task = task; self.mapIndex = mapIndex }
    public var description: String { mapIndex.map { "\(task)[\($0)]" } ?? task }
}

/// What a flow run reports while it runs. Observers may be called from several threads.
public enum RunEvent: Sendable {
    case flowStarted(flow: String, tasks: Int, executor: String, time: Double)
    /// `worker` names where the run happened, when that is not this process (a Dask worker).
    case taskState(TaskRunID, TaskState, attempt: Int, duration: Double?, worker: String? = nil, time: Double)
    case log(TaskRunID?, LogLevel, String, time: Double)
    case flowFinished(flow: String, state: TaskState, counts: [StateKind: Int], wall: Double, time: Double)
}

public protocol RunObserver: AnyObject, Sendable {
    func handle(_ event: RunEvent)
}

extension RunEvent {
    /// The event as one JSON-ready map (`--json-events` writes one per line).
    public var value: Value {
        switch self {
        case let .flowStarted(flow, tasks, executor, time):
            return ["event": "flow_started", "flow": .text(flow), "tasks": .int(Int64(tasks)),
                    "executor": .text(executor), "time": .text(Clock.iso8601(time))]
        case let .taskState(id, state, attempt, duration, worker, time):
            var m: [Value: Value] = ["event": "task_state", "task": .text(id.task), "state": .text(state.kind.rawValue),
                                     "attempt": .int(Int64(attempt)), "time": .text(Clock.iso8601(time))]
            if let i = id.mapIndex { m["map_index"] = .int(Int64(i)) }
            if let msg = state.message { m["message"] = .text(msg) }
            if let d = duration { m["duration"] = .float(d) }
            if let worker { m["worker"] = .text(worker) }
            if state.kind == .success || state.kind == .mapped { m["result"] = state.result }
            return .map(m)
        case let .log(id, level, message, time):
            var m: [Value: Value] = ["event": "log", "level": .text(level.name), "message": .text(message),
                                     "time": .text(Clock.iso8601(time))]
            if let id {
                m["task"] = .text(id.task)
                if let i = id.mapIndex { m["map_index"] = .int(Int64(i)) }
            }
            return .map(m)
        case let .flowFinished(flow, state, counts, wall, time):
            var c: [Value: Value] = [:]
            for (k, n) in counts { c[.text(k.rawValue)] = .int(Int64(n)) }
            var m: [Value: Value] = ["event": "flow_finished", "flow": .text(flow), "state": .text(state.kind.rawValue),
                                     "counts": .map(c), "wall": .float(wall), "time": .text(Clock.iso8601(time))]
            if let msg = state.message { m["message"] = .text(msg) }
            return .map(m)
        }
    }
}
