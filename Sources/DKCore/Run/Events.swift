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
        forEachField(withResult: true) { key, field in m[.text(key.description)] = field.value }
        return .map(m)
    }

    /// `JSON.write(SecretMask.apply(value))` without `result` when `withResult` is false (the
    /// run history keeps what happened, not the values), written field by field: building and
    /// sorting a map per event cost more than running a no-op task.
    public func writeJSON(into out: inout [UInt8], withResult: Bool) {
        writeJSON(into: &out, withResult: withResult, patterns: SecretMask.current)
    }

    /// `writeJSON` with the secrets' patterns given. Without any (most runs), keys and fields
    /// go straight into `out`, as a `Value` of each would cost allocations on every event;
    /// with some, every string is masked as `value`'s would be, keys included.
    func writeJSON(into out: inout [UInt8], withResult: Bool, patterns: [[UInt8]]) {
        var first = true
        out.append(UInt8(ascii: "{"))
        forEachField(withResult: withResult) { key, field in
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            if patterns.isEmpty {
                out.append(UInt8(ascii: "\""))
                // The keys are plain ASCII: nothing to escape.
                key.withUTF8Buffer { out.append(contentsOf: $0) }
                out.append(UInt8(ascii: "\""))
                out.append(UInt8(ascii: ":"))
                field.write(into: &out)
            } else {
                JSON.write(SecretMask.apply(.text(key.description), patterns), into: &out)
                out.append(UInt8(ascii: ":"))
                JSON.write(SecretMask.apply(field.value, patterns), into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A field's value as the event holds it, written to JSON without a `Value` made first.
    private enum Field {
        case text(String)
        case int(Int)
        case float(Double)
        case time(Double)
        case value(Value)

        var value: Value {
            switch self {
            case .text(let s): return .text(s)
            case .int(let i): return .int(Int64(i))
            case .float(let d): return .float(d)
            case .time(let t):
                var bytes: [UInt8] = []
                Clock.writeISO8601(t, into: &bytes)
                return .string(bytes)
            case .value(let v): return v
            }
        }

        /// `JSON.write(value)`.
        func write(into out: inout [UInt8]) {
            switch self {
            case .text(let s): JSON.writeString(s, into: &out)
            case .int(let i): JSON.write(.int(Int64(i)), into: &out)
            case .float(let d): JSON.write(.float(d), into: &out)
            case .time(let t):
                out.append(UInt8(ascii: "\""))
                Clock.writeISO8601(t, into: &out)  // digits and "-:.TZ": nothing to escape
                out.append(UInt8(ascii: "\""))
            case .value(let v): JSON.write(v, into: &out)
            }
        }
    }

    /// Hands each field of the event's map to `body`, keys in the order JSON.write sorts them;
    /// `result` only when `withResult`.
    private func forEachField(withResult: Bool, _ body: (StaticString, Field) -> Void) {
        switch self {
        case let .flowStarted(flow, tasks, executor, t):
            body("event", .text("flow_started"))
            body("executor", .text(executor))
            body("flow", .text(flow))
            body("tasks", .int(tasks))
            body("time", .time(t))
        case let .taskState(id, state, attempt, duration, worker, t):
            body("attempt", .int(attempt))
            if let duration { body("duration", .float(duration)) }
            body("event", .text("task_state"))
            if let i = id.mapIndex { body("map_index", .int(i)) }
            if let message = state.message { body("message", .text(message)) }
            if withResult && (state.kind == .success || state.kind == .mapped || state.kind == .cached) {
                body("result", .value(state.result))
            }
            if let location = state.resultLocation { body("result_location", .text(location)) }
            body("state", .text(state.kind.rawValue))
            body("task", .text(id.task))
            body("time", .time(t))
            if let worker { body("worker", .text(worker)) }
        case let .log(id, level, message, t):
            body("event", .text("log"))
            body("level", .text(level.name))
            if let i = id?.mapIndex { body("map_index", .int(i)) }
            body("message", .text(message))
            if let id { body("task", .text(id.task)) }
            body("time", .time(t))
        case let .flowFinished(flow, state, counts, wall, t):
            var c: [Value: Value] = [:]
            for (k, n) in counts { c[.text(k.rawValue)] = .int(Int64(n)) }
            body("counts", .value(.map(c)))
            body("event", .text("flow_finished"))
            body("flow", .text(flow))
            if let message = state.message { body("message", .text(message)) }
            body("state", .text(state.kind.rawValue))
            body("time", .time(t))
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
