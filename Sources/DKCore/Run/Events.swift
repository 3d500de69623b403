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
        var m: [Value: Value] = [:]
        forEachField { key, value in m[.text(key)] = value }
        return .map(m)
    }

    /// `JSON.write(SecretMask.apply(value))` without `result` when `withResult` is false (the
    /// run history keeps what happened, not the values), written field by field: building and
    /// sorting a map per event cost more than running a no-op task.
    public func writeJSON(into out: inout [UInt8], withResult: Bool) {
        let patterns = SecretMask.current
        var first = true
        out.append(UInt8(ascii: "{"))
        forEachField { key, value in
            guard withResult || key != "result" else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSON.write(SecretMask.apply(.text(key), patterns), into: &out)
            out.append(UInt8(ascii: ":"))
            JSON.write(SecretMask.apply(value, patterns), into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Hands each field of the event's map to `body`, keys in the order JSON.write sorts them.
    private func forEachField(_ body: (String, Value) -> Void) {
        func time(_ t: Double) -> Value {
            var bytes: [UInt8] = []
            Clock.writeISO8601(t, into: &bytes)
            return .string(bytes)
        }
        switch self {
        case let .flowStarted(flow, tasks, executor, t):
            body("event", "flow_started")
            body("executor", .text(executor))
            body("flow", .text(flow))
            body("tasks", .int(Int64(tasks)))
            body("time", time(t))
        case let .taskState(id, state, attempt, duration, worker, t):
            body("attempt", .int(Int64(attempt)))
            if let duration { body("duration", .float(duration)) }
            body("event", "task_state")
            if let i = id.mapIndex { body("map_index", .int(Int64(i))) }
            if let message = state.message { body("message", .text(message)) }
            if state.kind == .success || state.kind == .mapped || state.kind == .cached { body("result", state.result) }
            if let location = state.resultLocation { body("result_location", .text(location)) }
            body("state", .text(state.kind.rawValue))
            body("task", .text(id.task))
            body("time", time(t))
            if let worker { body("worker", .text(worker)) }
        case let .log(id, level, message, t):
            body("event", "log")
            body("level", .text(level.name))
            if let i = id?.mapIndex { body("map_index", .int(Int64(i))) }
            body("message", .text(message))
            if let id { body("task", .text(id.task)) }
            body("time", time(t))
        case let .flowFinished(flow, state, counts, wall, t):
            var c: [Value: Value] = [:]
            for (k, n) in counts { c[.text(k.rawValue)] = .int(Int64(n)) }
            body("counts", .map(c))
            body("event", "flow_finished")
            body("flow", .text(flow))
            if let message = state.message { body("message", .text(message)) }
            body("state", .text(state.kind.rawValue))
            body("time", time(t))
            body("wall", .float(wall))
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
