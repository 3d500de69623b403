import DKCore
@testable import DKHistory
import DKTestSupport
import Testing

/// The store: what goes in comes back, the schema's version is kept and checked, and a
/// database locked by another connection gives a clear error after the busy timeout.
@Suite struct RunHistoryTests {
    static func run(_ id: String, flow: String = "etl", started: Double = 1000) -> RunRecord {
        RunRecord(id: id, flow: flow, dagHash: "abc", parameters: ["n": 3], placement: .here, executor: "local",
                  started: started, ended: started + 2, state: .success)
    }

    @Test func runsAndTheirTaskRunsComeBackInTheirOrder() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        let tasks = [
            TaskRunRecord(id: TaskRunID(task: "load"), position: 1, state: .failed, attempts: 3, duration: 0.5, message: "boom"),
            TaskRunRecord(id: TaskRunID(task: "square", mapIndex: 1), position: 0, state: .success, attempts: 1, worker: "tcp://w:1"),
            TaskRunRecord(id: TaskRunID(task: "square"), position: 0, state: .mapped, attempts: 1),
            TaskRunRecord(id: TaskRunID(task: "square", mapIndex: 0), position: 0, state: .success, attempts: 1, started: 5, ended: 6),
        ]
        try history.record(Self.run("r1"), tasks: tasks)
        try history.record(Self.run("r2", flow: "other", started: 2000), tasks: [])
        #expect(try history.run("r1") == Self.run("r1"))
        #expect(try history.tasks(of: "r1").map(\.id.description) == ["square", "square[0]", "square[1]", "load"])
        #expect(try history.tasks(of: "r1").last == tasks[0])
        #expect(try history.runs().map(\.id) == ["r2", "r1"])
        #expect(try history.runs(flow: "etl").map(\.id) == ["r1"])
        #expect(try history.runs(limit: 1).map(\.id) == ["r2"])
        #expect(Set(try history.runIDs()) == ["r1", "r2"])
    }

    /// What fusion on Dask batches by: the durations of the latest ended run of the flow that
    /// measured any task running its function (a mapped task's are its children's); a run still
    /// going, a run without durations, another flow's and task runs that ended without running
    /// (Cached, resumed, Skipped, TriggerFailed, Cancelled: tiny durations of no function) are
    /// not looked at.
    @Test func theLatestMeasuredRunOfAFlowGivesItsTasksDurations() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        func task(_ name: String, _ duration: Double?, child: Int? = nil, _ state: StateKind = .success,
                  attempts: Int = 1) -> TaskRunRecord {
            TaskRunRecord(id: TaskRunID(task: name, mapIndex: child), position: 0, state: state, attempts: attempts, duration: duration)
        }
        #expect(try history.latestDurations(flow: "etl") == [:])
        try history.record(Self.run("old", started: 1000), tasks: [task("a", 1), task("b", 2)])
        try history.record(Self.run("new", started: 2000), tasks: [
            task("a", 0.5), task("m", 3, .mapped), task("m", 0.1, child: 0), task("m", 0.2, child: 1), task("c", nil),
            task("f", 0.2, .failed, attempts: 2),
            task("cached", 0.001, .cached, attempts: 0), task("resumed", 0.001, .success, attempts: 0),
            task("skipped", 0.001, .skipped), task("trigger", 0.001, .triggerFailed, attempts: 0),
            task("cancelled", 0.001, .cancelled, attempts: 0),
        ])
        try history.record(Self.run("unmeasured", started: 3000), tasks: [task("a", nil), task("x", 0.001, .cached, attempts: 0)])
        var going = Self.run("going", started: 4000)
        going.ended = nil
        try history.record(going, tasks: [task("a", 9)])
        try history.record(Self.run("other", flow: "other", started: 5000), tasks: [task("a", 7)])
        #expect(try history.latestDurations(flow: "etl") == ["a": [0.5], "m": [0.1, 0.2], "f": [0.2]])
    }

    /// A Kubernetes run followed again (`dkrun k8s logs`) does not know its DAG hash and
    /// parameters: what was recorded when it was submitted stays.
    @Test func recordingARunAgainKeepsWhatTheNewRecordDoesNotKnow() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        try history.record(Self.run("r1"), tasks: [TaskRunRecord(id: TaskRunID(task: "t"), position: 0, state: .running, attempts: 1)])
        var again = Self.run("r1", started: 1005)
        again.dagHash = nil
        again.parameters = nil
        again.state = .failed
        try history.record(again, tasks: [TaskRunRecord(id: TaskRunID(task: "t"), position: 0, state: .failed, attempts: 2)])
        let kept = try #require(try history.run("r1"))
        #expect(kept.dagHash == "abc" && kept.parameters == ["n": 3] && kept.started == 1000 && kept.state == .failed)
        #expect(try history.tasks(of: "r1").map(\.attempts) == [2])
    }

    @Test func secretsAreMaskedInParametersAndMessages() throws {
        let secret = "hist-" + UUID4.make()
        SecretMask.register(name: "history_test", value: secret)
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        var run = Self.run("r1")
        run.parameters = ["password": .text(secret)]
        run.message = "failed with \(secret)"
        try history.record(run, tasks: [TaskRunRecord(id: TaskRunID(task: "t"), position: 0, state: .failed, attempts: 1,
                                                      message: "bad \(secret)")])
        #expect(try history.run("r1")?.parameters == ["password": "****"])
        #expect(try history.run("r1")?.message == "failed with ****")
        #expect(try history.tasks(of: "r1").first?.message == "bad ****")
        let bytes = try Files.read(history.databasePath, limit: .events) + Files.read(history.databasePath + "-wal", limit: .events)
        #expect(!String(decoding: bytes, as: UTF8.self).contains(secret))
    }

    @Test func removingAndPruningTakeTheRunsTaskRunsAndLogs() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        for (id, started) in [("old1", 10.0), ("old2", 20.0), ("new", 100.0)] {
            try history.record(Self.run(id, started: started), tasks: [TaskRunRecord(id: TaskRunID(task: "t"), position: 0, state: .success, attempts: 1)])
            try RunLog(creating: history.logPath(of: id)).append([])
        }
        #expect(Set(try history.prune(startedBefore: 50)) == ["old1", "old2"])
        #expect(try history.runIDs() == ["new"])
        #expect(try history.tasks(of: "old1").isEmpty)
        #expect(Files.kind(history.logPath(of: "old1")) == nil && Files.kind(history.logPath(of: "new")) == "file")
        try history.remove(["new"])
        #expect(try history.runIDs().isEmpty && Files.kind(history.logPath(of: "new")) == nil)
    }

    @Test func theSchemaVersionIsWrittenAndANewerOneIsRefusedNamingTheFileAndBothVersions() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path)
        try history.record(Self.run("r1"), tasks: [])
        let db = try SQLiteConnection(path: history.databasePath, busyTimeout: 1)
        #expect(try db.rows("PRAGMA user_version") == [[.int(Int64(RunHistory.schemaVersion))]])
        // Opening again changes nothing.
        #expect(try RunHistory(directory: dir.path).run("r1") == Self.run("r1"))
        try db.execute("PRAGMA user_version = 99")
        let error = #expect(throws: RunHistory.SchemaError.self) { try RunHistory(directory: dir.path) }
        #expect(error?.description == "\(history.databasePath) was written by a newer dkrun (history schema version 99; this dkrun "
            + "\(Product.version) reads versions up to \(RunHistory.schemaVersion)): use that dkrun, or set DKRUN_HOME to keep this "
            + "one's history elsewhere")
        #expect(error?.exitStatus == .badInput)
    }

    /// A history an older dkrun wrote (schema version 1) is brought up to date: its runs stay,
    /// and new ones keep their script and its parameters.
    @Test func aVersion1HistoryIsUpgradedKeepingItsRuns() throws {
        let dir = try TempDir()
        try Files.makeDirectories(dir.path + "/logs")
        let old = try SQLiteConnection(path: dir.path + "/runs.sqlite", busyTimeout: 1)
        try old.execute(RunHistory.migrations[0] + "PRAGMA user_version = 1;")
        try old.execute("INSERT INTO runs (id, flow, placement, started, state) VALUES ('r0', 'etl', 'here', 5, 'Success')")
        let history = try RunHistory(directory: dir.path)
        #expect(try old.rows("PRAGMA user_version") == [[.int(Int64(RunHistory.schemaVersion))]])
        #expect(try history.run("r0")?.script == nil)
        var run = Self.run("r1")
        run.script = "/flows/etl.lua"
        run.scriptParameters = ["n": 3, "name": "x"]
        try history.record(run, tasks: [])
        #expect(try history.run("r1") == run)
        // A later write that does not know them (a followed run) keeps them.
        try history.record(Self.run("r1"), tasks: [])
        #expect(try history.run("r1")?.script == "/flows/etl.lua")
    }

    @Test func aFileThatIsNoDatabaseIsNamed() throws {
        let dir = try TempDir()
        try Files.write(dir.path + "/runs.sqlite", Array(String(repeating: "not a database\n", count: 100).utf8))
        let error = #expect(throws: SQLiteError.self) { try RunHistory(directory: dir.path) }
        #expect(error?.description == "\(dir.path)/runs.sqlite: file is not a database")
    }

    @Test func aDatabaseLockedPastTheBusyTimeoutIsAClearError() throws {
        let dir = try TempDir()
        let history = try RunHistory(directory: dir.path, busyTimeout: 0.2)
        let holder = try SQLiteConnection(path: history.databasePath, busyTimeout: 0)
        try holder.execute("BEGIN IMMEDIATE")
        let error = #expect(throws: SQLiteError.self) { try history.record(Self.run("r1"), tasks: []) }
        #expect(error?.description == "\(history.databasePath) is locked by another process (dkrun waited 200.0 ms for it)")
        // Readers do not wait for a writer.
        #expect(try history.runs().isEmpty)
        try holder.execute("ROLLBACK")
        try history.record(Self.run("r1"), tasks: [])
        #expect(try history.runIDs() == ["r1"])
    }
}
