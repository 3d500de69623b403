import DKCore
import DKKube
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

    /// The log stream was cut (a proxy's timeout) just before the pod wrote its last lines and
    /// ended: the follower reads the log once more and shows them, each line once.
    @Test func linesWrittenAfterTheLastReadAreShown() throws {
        let (kube, follower, seen) = try Self.endedJobPod(reads: ["one\ntwo\n", "one\ntwo\nthree\nfour"])
        #expect(follower.follow(startupTimeout: 5) == .success)
        #expect(seen.events == ["INFO -: [pod] one", "INFO -: [pod] two", "INFO -: [pod] three", "INFO -: [pod] four"])
        #expect(kube.calls.filter { $0.hasPrefix("logs") } == ["logs job-pod --follow", "logs job-pod"])
    }

    /// The last read, after the pod ended, is cut (a timeout) before the log's end: the
    /// follower reads it again and shows the lines it had not shown, each once.
    @Test func aCutLastReadIsReadAgain() throws {
        let (kube, follower, seen) = try Self.endedJobPod(reads: ["one\n", "one\ntwo\n", "one\ntwo\nthree\n"], failing: 1 ..< 2)
        #expect(follower.follow(startupTimeout: 5) == .success)
        #expect(seen.events == ["INFO -: [pod] one", "INFO -: [pod] two", "INFO -: [pod] three"])
        #expect(kube.calls.filter { $0.hasPrefix("logs") } == ["logs job-pod --follow", "logs job-pod", "logs job-pod"])
    }

    /// A log that can never be read to its end: the follower gives up after a few tries, and
    /// says the log was cut rather than going silent.
    @Test func aLogThatCannotBeReadToItsEndIsSaidToBeCut() throws {
        let (kube, follower, seen) = try Self.endedJobPod(reads: ["one\n", "one\ntwo\n"], failing: 1 ..< Int.max)
        #expect(follower.follow(startupTimeout: 5) == .success)
        #expect(seen.events.prefix(2) == ["INFO -: [pod] one", "INFO -: [pod] two"])
        #expect(seen.events.last?.hasPrefix("WARNING -: the log of the flow run's pod job-pod could not be read to its end (2 line(s) shown): ") == true,
                "\(seen.events)")
        #expect(kube.calls.filter { $0 == "logs job-pod" }.count == 6)
    }

    /// A run's Job pod that has ended (exit 0), whose log reads answer `reads` in turn, those
    /// in `failing` cut after their text; a follower of it.
    static func endedJobPod(reads: [String], failing: Range<Int> = 0 ..< 0) throws -> (FakeKube, JobFollower, Seen) {
        let run = "0123abcd-4567-89ef-0123-456789abcdef"
        let kube = FakeKube()
        try kube.create(["apiVersion": "v1", "kind": "Pod",
                         "metadata": ["name": "job-pod", "labels": RunLabels.of(run: run, component: "job")]], namespace: "default")
        kube.setStatus(of: "job-pod", ["phase": "Succeeded",
                                       "containerStatuses": [["state": ["terminated": ["exitCode": 0, "reason": "Completed"]]]]])
        kube.logReads["job-pod"] = reads
        kube.failingLogReads["job-pod"] = failing
        let seen = Seen()
        return (kube, JobFollower(client: kube, namespace: "default", runID: run, observer: seen, readAgainPause: 1_000), seen)
    }

    /// A result may nest 200 levels (Value.maxDepth); its event line nests one more, and is
    /// still the run's event.
    @Test func anEventWithTheDeepestResultIsAnEvent() {
        let result = String(repeating: "[", count: Value.maxDepth) + String(repeating: "]", count: Value.maxDepth)
        let seen = Seen()
        JobFollower.render(#"{"event": "task_state", "task": "deep", "state": "Success", "result": \#(result)}"#, to: seen)
        #expect(seen.events.count == 1)
        #expect(seen.events.first?.hasPrefix("taskState") == true, "\(seen.events)")
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
