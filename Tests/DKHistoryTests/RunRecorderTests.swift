import DKCore
@testable import DKHistory
import DKTestSupport
import Testing

/// The recorder: a run's events become its rows and its log file; a history it cannot write
/// costs the run nothing but one warning.
@Suite struct RunRecorderTests {
    /// Warnings, from the recorder's thread.
    final class Warnings: @unchecked Sendable {
        private let monitor = Monitor()
        private var said: [String] = []
        func add(_ s: String) { monitor.locked { said.append(s) } }
        var all: [String] { monitor.locked { said } }
    }

    static func given(_ id: String, flow: String? = "etl") -> RunRecorder.Run {
        RunRecorder.Run(id: id, flow: flow, dagHash: "hash", parameters: ["n": 2], placement: .here)
    }

    /// A mapped task with a child that is retried, a task that fails, log lines.
    static let events: [RunEvent] = [
        .flowStarted(flow: "etl", tasks: 2, executor: "threads(2)", time: 100),
        .taskState(TaskRunID(task: "square"), TaskState(.running), attempt: 1, duration: nil, time: 101),
        .taskState(TaskRunID(task: "square", mapIndex: 0), TaskState(.running), attempt: 1, duration: nil, time: 101),
        .log(TaskRunID(task: "square", mapIndex: 0), .info, "squaring", time: 101.5),
        .taskState(TaskRunID(task: "square", mapIndex: 0), TaskState(.retrying, message: "flaky"), attempt: 1, duration: 0.1, time: 102),
        .taskState(TaskRunID(task: "square", mapIndex: 0), TaskState(.running), attempt: 2, duration: nil, worker: "tcp://w:1", time: 103),
        .taskState(TaskRunID(task: "square", mapIndex: 0), TaskState(.success, result: 4), attempt: 2, duration: 0.2, worker: "tcp://w:1", time: 104),
        .taskState(TaskRunID(task: "square"), TaskState(.mapped), attempt: 1, duration: 3, time: 104),
        .taskState(TaskRunID(task: "load"), TaskState(.running), attempt: 1, duration: nil, time: 105),
        .taskState(TaskRunID(task: "load"), TaskState(.failed, message: "no table"), attempt: 1, duration: 0.5, time: 106),
        .flowFinished(flow: "etl", state: TaskState(.failed, message: "Some reference tasks failed."), counts: [.failed: 1],
                      wall: 6, time: 106),
    ]

    @Test func aRunsEventsBecomeItsRowsAndItsLog() throws {
        let dir = try TempDir()
        let warnings = Warnings()
        let recorder = RunRecorder(run: Self.given("r1"), open: { try RunHistory(directory: dir.path) }, warn: warnings.add)
        for e in Self.events { recorder.handle(e) }
        recorder.finish(status: .failure)
        #expect(warnings.all.isEmpty)

        let history = try RunHistory(directory: dir.path)
        let run = try #require(try history.run("r1"))
        #expect(run.flow == "etl" && run.dagHash == "hash" && run.parameters == ["n": 2] && run.executor == "threads(2)")
        #expect(run.state == .failed && run.message == "Some reference tasks failed." && run.ended == 106)
        let tasks = try history.tasks(of: "r1")
        #expect(tasks.map { "\($0.id) \($0.state.rawValue) \($0.attempts) \($0.duration ?? -1) \($0.worker ?? "-") \($0.message ?? "-")" } == [
            "square Mapped 1 3.0 - -",
            "square[0] Success 2 0.2 tcp://w:1 -",
            "load Failed 1 0.5 - no table",
        ])
        #expect(tasks[1].started == 101 && tasks[1].ended == 104 && tasks[1].resultLocation == nil)

        // The log holds every event, in order, without results.
        let logged = try RunLog.events(at: history.logPath(of: "r1"))
        #expect(logged.count == Self.events.count)
        func comparable(_ e: RunEvent) -> Value {
            var v = e.value
            v["time"] = nil
            v["result"] = nil
            return v
        }
        #expect(logged.map(comparable) == Self.events.map(comparable))
        #expect(!String(decoding: try Files.read(history.logPath(of: "r1"), limit: .events), as: UTF8.self).contains("result"))
    }

    /// The writer's rows: split over any two writes, the events give the rows one write gives,
    /// each written in the order it first changed, a finished one let go, an unfinished one
    /// taken up again.
    @Test func taskRowsAreTheSameHoweverTheEventsAreSplitIntoWrites() {
        func row(_ r: TaskRunRecord) -> String {
            "\(r.id) @\(r.position) \(r.state.rawValue) \(r.attempts) \(r.started ?? -1)-\(r.ended ?? -1) \(r.worker ?? "-")"
        }
        var once = TaskRows()
        let all = once.changed(by: Self.events).map(row)
        #expect(all == [
            "square @0 Mapped 1 101.0-104.0 -",
            "square[0] @0 Success 2 101.0-104.0 tcp://w:1",
            "load @1 Failed 1 105.0-106.0 -",
        ])
        for split in 1 ..< Self.events.count {
            var twice = TaskRows()
            let first = twice.changed(by: Array(Self.events[..<split])).map(row)
            let second = twice.changed(by: Array(Self.events[split...])).map(row)
            // The last row of each task run is the one that stands.
            var last: [String: String] = [:]
            for r in first + second { last[String(r.prefix { $0 != " " })] = r }
            #expect(all.allSatisfy { last[String($0.prefix { $0 != " " })] == $0 }, "split at \(split)")
            #expect(Set(second.map { String($0.prefix { $0 != " " }) }).count == second.count)
        }
    }

    /// `dkrun k8s logs RUN` knows only the id: the flow comes with the start event.
    @Test func aFollowedRunIsRecordedFromItsStartEvent() throws {
        let dir = try TempDir()
        let recorder = RunRecorder(run: Self.given("k1", flow: nil), open: { try RunHistory(directory: dir.path) }, warn: { _ in })
        recorder.handle(.log(nil, .info, "waiting for the pod", time: 99))
        for e in Self.events { recorder.handle(e) }
        recorder.finish(status: nil)
        let run = try #require(try RunHistory(directory: dir.path).run("k1"))
        #expect(run.flow == "etl" && run.started == 100 && run.state == .failed)
    }

    @Test func aRunWhoseEndNeverCameEndsAsTheCommandSays() throws {
        let dir = try TempDir()
        let recorder = RunRecorder(run: Self.given("r1"), open: { try RunHistory(directory: dir.path) }, warn: { _ in })
        recorder.handle(.log(nil, .error, "the flow run's pod cannot start: ImagePullBackOff", time: 99))
        recorder.finish(status: .failure)
        let run = try #require(try RunHistory(directory: dir.path).run("r1"))
        #expect(run.state == .failed && run.message == "the flow run's pod cannot start: ImagePullBackOff" && run.ended != nil)
    }

    @Test func aRunRefusedBeforeItStartedIsNotKept() throws {
        let dir = try TempDir()
        let recorder = RunRecorder(run: Self.given("r1"), open: { try RunHistory(directory: dir.path) }, warn: { _ in })
        recorder.finish(status: .badInput, reason: "bad")
        #expect(try RunHistory(directory: dir.path).runIDs().isEmpty)
    }

    /// A database locked past the busy timeout: the events are all taken at once (none waits
    /// for the database), one warning says why, and nothing more is tried.
    @Test func aLockedHistoryWarnsOnceAndHoldsNothingUp() throws {
        let dir = try TempDir()
        let path = try RunHistory(directory: dir.path).databasePath
        let holder = try SQLiteConnection(path: path, busyTimeout: 0)
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let warnings = Warnings()
        let recorder = RunRecorder(run: Self.given("r1"), open: { try RunHistory(directory: dir.path, busyTimeout: 0.1) }, warn: warnings.add)
        for e in Self.events + Self.events { recorder.handle(e) }
        recorder.finish(status: .failure)
        #expect(warnings.all == ["this run is not recorded in the run history: \(path) is locked by another process (dkrun waited 100.0 ms for it)"])
    }

    @Test func aNewerHistoryIsNamedInTheWarning() throws {
        let dir = try TempDir()
        let path = try RunHistory(directory: dir.path).databasePath
        try SQLiteConnection(path: path, busyTimeout: 1).execute("PRAGMA user_version = 7")
        let warnings = Warnings()
        let recorder = RunRecorder(run: Self.given("r1"), open: { try RunHistory(directory: dir.path) }, warn: warnings.add)
        for e in Self.events { recorder.handle(e) }
        recorder.finish(status: .failure)
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("\(path) was written by a newer dkrun (history schema version 7;") == true)
    }
}
