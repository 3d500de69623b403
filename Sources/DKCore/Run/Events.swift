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

/// Hands each event to several observers in order (the reporter, then the run history).
public final class RunObservers: RunObserver {
    private let observers: [RunObserver]

    public init(_ observers: [RunObserver]) { self.observers = observers }

    public func handle(_ event: RunEvent) {
        for observer in observers { observer.handle(event) }
    }
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
            if let r = state.resultLocation { m["result_location"] = .text(r) }
            if [.success, .mapped, .cached].contains(state.kind) { m["result"] = state.result }
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

extension RunEvent {
    /// An event back from its JSON-ready map (a run elsewhere, a Kubernetes Job, prints them
    /// with `--json-events`; dkrun following it reports them as if they were its own); nil
    /// when the map is not one.
    public init?(value: Value) {
        guard let kind = value["event"]?.stringValue else { return nil }
        let time = value["time"]?.stringValue.flatMap(Clock.parseISO8601) ?? Clock.wall()
        func state() -> TaskState? {
            guard let kind = value["state"]?.stringValue.flatMap(StateKind.init(rawValue:)) else { return nil }
            return TaskState(kind, message: value["message"]?.stringValue, result: value["result"] ?? .null,
                             resultLocation: value["result_location"]?.stringValue)
        }
        switch kind {
        case "flow_started":
            guard let flow = value["flow"]?.stringValue else { return nil }
            self = .flowStarted(flow: flow, tasks: Int(value["tasks"]?.intValue ?? 0),
                                executor: value["executor"]?.stringValue ?? "", time: time)
        case "task_state":
            guard let task = value["task"]?.stringValue, let state = state() else { return nil }
            self = .taskState(TaskRunID(task: task, mapIndex: value["map_index"]?.intValue.map(Int.init)), state,
                              attempt: Int(value["attempt"]?.intValue ?? 0), duration: value["duration"]?.numberValue,
                              worker: value["worker"]?.stringValue, time: time)
        case "log":
            let id = value["task"]?.stringValue.map { TaskRunID(task: $0, mapIndex: value["map_index"]?.intValue.map(Int.init)) }
            self = .log(id, value["level"]?.stringValue.flatMap(LogLevel.init(name:)) ?? .info,
                        value["message"]?.stringValue ?? "", time: time)
        case "flow_finished":
            guard let flow = value["flow"]?.stringValue, let state = state() else { return nil }
            var counts: [StateKind: Int] = [:]
            for (k, n) in value["counts"]?.mapValue ?? [:] {
                if let kind = k.stringValue.flatMap(StateKind.init(rawValue:)), let n = n.intValue { counts[kind] = Int(n) }
            }
            self = .flowFinished(flow: flow, state: state, counts: counts, wall: value["wall"]?.numberValue ?? 0, time: time)
        default:
            return nil
        }
    }
}
