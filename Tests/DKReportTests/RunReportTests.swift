import DKCore
@testable import DKReport
import Foundation
import Testing

@Suite struct RunReportTests {
    static func state(_ id: TaskRunID, _ kind: StateKind, attempt: Int = 1, worker: String? = nil, at time: Double) -> RunEvent {
        .taskState(id, TaskState(kind, message: kind == .retrying ? "retry 1 of 1" : nil), attempt: attempt,
                   duration: kind == .running ? nil : 0.5, worker: worker, time: time)
    }

    @Test func aRetriedTaskHasOneAttemptPerRunning() {
        let flaky = TaskRunID(task: "flaky")
        let report = RunReport(events: [
            .flowStarted(flow: "f", tasks: 2, executor: "local", time: 100),
            Self.state(TaskRunID(task: "p"), .success, at: 100),
            Self.state(flaky, .running, at: 101), Self.state(flaky, .retrying, at: 102),
            Self.state(flaky, .running, attempt: 2, at: 103), Self.state(flaky, .success, attempt: 2, at: 104),
            .flowFinished(flow: "f", state: TaskState(.success), counts: [.success: 2], wall: 4, time: 104),
        ])
        // The parameter never ran: no attempt of its own.
        #expect(report.attempts.map(\.taskRun) == [1, 1])
        #expect(report.attempts.map(\.state) == [.retrying, .success])
        #expect(report.attempts.map(\.start) == [101, 103])
        // Each lasts its measured duration (the events' times are when they were heard of).
        #expect(report.attempts.map(\.end) == [101.5, 103.5])
        #expect(report.taskRuns[1].attempts == 2)
        #expect(report.lanes == ["here"])
        #expect(report.run.state == .success && report.run.ended == 104)
    }

    /// A Dask worker retries in its own process: the next attempt has no Running event.
    @Test func anAttemptKnownOnlyByItsEndHasItsMeasuredDuration() {
        let flaky = TaskRunID(task: "flaky")
        let report = RunReport(events: [
            Self.state(flaky, .running, worker: "w1", at: 101), Self.state(flaky, .retrying, worker: "w1", at: 102),
            Self.state(flaky, .success, attempt: 2, worker: "w1", at: 104),
            Self.state(TaskRunID(task: "never"), .triggerFailed, at: 104),
        ])
        #expect(report.attempts.map(\.number) == [1, 2])
        #expect(report.attempts.map(\.start) == [101, 103.5] && report.attempts.map(\.end) == [101.5, 104])
        #expect(report.attempts.map(\.state) == [.retrying, .success])
    }

    @Test func overlappingAttemptsGetLanesOfTheirWorker() {
        let a = TaskRunID(task: "m", mapIndex: 0), b = TaskRunID(task: "m", mapIndex: 1), c = TaskRunID(task: "m", mapIndex: 2)
        let report = RunReport(events: [
            Self.state(a, .running, worker: "w1", at: 1), Self.state(b, .running, worker: "w2", at: 1),
            Self.state(c, .running, worker: "w1", at: 1.2), Self.state(a, .success, worker: "w1", at: 3),
            Self.state(b, .success, worker: "w2", at: 3), Self.state(c, .failed, worker: "w1", at: 4),
        ])
        #expect(report.lanes == ["w1 #1", "w1 #2", "w2"])
        #expect(report.attempts.map(\.lane) == [0, 2, 1])
        #expect(report.taskStates.isEmpty)
    }

    @Test func anUnfinishedAttemptHasNoEnd() {
        let report = RunReport(events: [Self.state(TaskRunID(task: "t"), .running, at: 1)])
        #expect(report.attempts.count == 1 && report.attempts[0].end == nil && report.attempts[0].state == .running)
    }

    @Test func theDataCannotEndItsScriptElement() {
        let evil = "</script><script>alert(1)</script> & \u{2028}\u{2029}"
        let report = RunReport(events: [
            .log(nil, .info, evil, time: 1), Self.state(TaskRunID(task: evil), .failed, at: 2),
        ])
        let html = String(decoding: ReportPage(report: report, graph: .omitted(evil)).html(), as: UTF8.self)
        let start = html.range(of: "<script type=\"application/json\" id=\"report-data\">")!.upperBound
        let json = String(html[start...].prefix { $0 != "<" })
        #expect(!json.contains(">") && !json.contains("&") && !json.contains("\u{2028}") && !json.contains("\u{2029}"))
        #expect(html[start...].hasPrefix(json + "</script>"))
        // Still the same JSON: the escapes decode to the text.
        let decoded = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect((decoded?["logs"] as? [[Any]])?.first?[3] as? String == evil)
        #expect((decoded?["graph"] as? [String: String])?["note"] == evil)
    }
}

@Suite struct EventsFileTests {
    @Test func aLineThatIsNoEventIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dkreport-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = #"{"event":"flow_started","flow":"f","tasks":1,"executor":"local","time":"2026-12-01T00:00:00.000Z"}"#
        try (good + "\n{\"event\": \n").write(toFile: dir + "/cut.jsonl", atomically: true, encoding: .utf8)
        try (good + "\n\n{\"event\":\"lunch\"}\n").write(toFile: dir + "/odd.jsonl", atomically: true, encoding: .utf8)
        try "\n".write(toFile: dir + "/empty.jsonl", atomically: true, encoding: .utf8)
        func message(_ file: String) -> String? {
            do { _ = try EventsFile.read(dir + "/" + file); return nil } catch { return "\(error)" }
        }
        #expect(message("cut.jsonl")?.hasPrefix(dir + "/cut.jsonl:2: not a JSON event line") == true)
        #expect(message("odd.jsonl")?.hasPrefix(dir + "/odd.jsonl:3: not a dkrun event") == true)
        #expect(message("empty.jsonl") == dir + "/empty.jsonl: holds no events")
        #expect(message("missing.jsonl")?.hasPrefix("cannot read events: " + dir + "/missing.jsonl: No such file") == true)
    }
}
