import DKCore
@testable import DKKubeRun
import Testing

/// How the Job's pod's log lines become the run's events.
@Suite struct JobFollowerTests {
    @Test(arguments: [
        // The pod's dkrun writes its events as JSON lines: they are this run's.
        (#"{"event": "log", "level": "WARNING", "task": "load", "message": "slow"}"#, ["WARNING load: slow"]),
        (#"{"event": "flow_started", "flow": "f", "tasks": 2, "executor": "DaskExecutor"}"#, ["flow f started"]),
        // Anything else the pod printed is a log line of the run.
        ("Traceback (most recent call last):", ["INFO -: [pod] Traceback (most recent call last):"]),
        (#"{"not": "an event"}"#, [#"INFO -: [pod] {"not": "an event"}"#]),
        ("{cut off", ["INFO -: [pod] {cut off"]),
        ("", []),
    ])
    func logLinesOfThePod(line: String, events: [String]) {
        let seen = Seen()
        JobFollower.render(line, to: seen)
        #expect(seen.events == events)
    }
}

final class Seen: RunObserver, @unchecked Sendable {
    private(set) var events: [String] = []

    func handle(_ event: RunEvent) {
        switch event {
        case let .log(task, level, message, _): events.append("\(level.name) \(task?.description ?? "-"): \(message)")
        case let .flowStarted(flow, _, _, _): events.append("flow \(flow) started")
        default: events.append("\(event)")
        }
    }
}
