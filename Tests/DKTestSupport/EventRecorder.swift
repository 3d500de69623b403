import DKCore

/// Records every event of a run, from any thread, for tests to inspect.
public final class EventRecorder: RunObserver, @unchecked Sendable {
    private let monitor = Monitor()
    private var recorded: [RunEvent] = []

    public init() {}

    public func handle(_ event: RunEvent) { monitor.locked { recorded.append(event) } }

    public var events: [RunEvent] { monitor.locked { recorded } }

    /// Each event as `--json-events` writes it, without its time (which differs every run).
    public var values: [Value] {
        events.compactMap {
            guard case .map(var m) = $0.value else { return nil }
            m["time"] = nil
            return .map(m)
        }
    }

    /// The log lines as "task: message" ("-" for the flow's own lines).
    public var logs: [String] {
        events.compactMap { if case let .log(id, _, message, _) = $0 { return "\(id.map(\.description) ?? "-"): \(message)" } else { return nil } }
    }

    /// The states a task run went through, in order ("t", or "m[1]" for a mapped child).
    public func states(of run: String) -> [StateKind] {
        events.compactMap {
            if case let .taskState(id, state, _, _, _, _) = $0, id.description == run { return state.kind } else { return nil }
        }
    }
}
