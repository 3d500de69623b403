import DKCore
@testable import DKHistory
import DKTestSupport
import Foundation
import Testing

/// The run history through the built dkrun: every run on every executor recorded with its
/// task table, `dkrun runs` and its subcommands with good and bad input, several dkrun
/// processes writing one history at once, and a history dkrun cannot write (locked, newer)
/// costing a run nothing but a warning. Each test has a DKRUN_HOME of its own.
@Suite(.timeLimit(.minutes(10))) struct RunHistoryCLITests {
    /// A mapped task whose child 1 fails its first attempt and is retried, and a task that
    /// prints the run's id from `dk.context`.
    static let flow = """
        local numbers = task("numbers", function() return { 1, 2, 3 } end)
        local square = task("square", { max_retries = 1, retry_delay = 0 }, function(x)
          dk.log.info("squaring %d", x)
          if x == 2 and dk.context.attempt == 1 then error("flaky") end
          return x * x
        end)
        local total = task("total", function(xs, scale)
          local s = 0
          for _, x in ipairs(xs) do s = s + x end
          print("run " .. dk.context.flow_run_id .. " total " .. s * scale)
        end)
        return Flow("History", function()
          total(square:map(numbers()), Parameter("scale", { default = 1 }))
        end)
        """

    /// The task table every executor gives that flow: "task state attempts", sorted (tasks
    /// that run at once are listed in the order they started). A mapped task makes no attempt
    /// of its own: its children do.
    static let table = ["numbers Success 1", "scale Success 1", "square Mapped 0", "square[0] Success 1", "square[1] Success 2",
                        "square[2] Success 1", "total Success 1"]

    func expectTable(_ home: Home, _ run: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let table = try home.table(run)
        #expect(table == Self.table, "\(table)", sourceLocation: sourceLocation)
    }

    func write(_ path: String, _ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    /// A history directory and a flow for one test.
    final class Home {
        let dir: TempDir
        var path: String { dir.file("home") }
        var history: String { path + "/history" }

        init() throws { dir = try TempDir(["flow.lua": RunHistoryCLITests.flow]) }

        func dkrun(_ arguments: [String], environment: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(arguments, in: dir.path, environment: environment.merging(["DKRUN_HOME": path]) { $1 })
        }

        func open() throws -> RunHistory { try RunHistory(directory: history) }

        /// The run's task table as "task state attempts", sorted; each mapped child after its task.
        func table(_ run: String) throws -> [String] {
            let tasks = try open().tasks(of: run)
            for (i, t) in tasks.enumerated() where t.id.mapIndex != nil {
                #expect(tasks[..<i].contains { $0.id.task == t.id.task && $0.id.mapIndex == nil }, "\(t.id) before its task")
            }
            return tasks.map { "\($0.id) \($0.state.rawValue) \($0.attempts)" }.sorted()
        }

        /// `dkrun runs --json`, parsed.
        func runs(_ arguments: [String] = []) throws -> [[String: Any]] {
            let r = try dkrun(["runs", "--json"] + arguments)
            #expect(r.status == 0, "\(r.stderr)")
            return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        }
    }

    @Test(arguments: [("local", "local"), ("threads=2", "threads(2)")])
    func aRunHereIsRecordedWithItsTaskTable(executor: String, shown: String) throws {
        let home = try Home()
        let r = try home.dkrun(["flow.lua", "--executor", executor, "--param", "scale=10"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
        let runs = try home.runs()
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        let id = try #require(run["id"] as? String)
        // One id: the run's dk.context.flow_run_id is its id in the history.
        #expect(r.stdout.contains("total | run \(id) total 140"), "\(r.stdout)")
        #expect(run["flow"] as? String == "History" && run["state"] as? String == "Success" && run["executor"] as? String == shown)
        #expect(run["placement"] as? String == "here" && run["parameters"] as? [String: Int] == ["scale": 10])
        let inspect = try home.dkrun(["inspect", "flow.lua", "--json"])
        let dagHash = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(run["dag_hash"] as? String == dagHash?["dag_hash"] as? String)
        try expectTable(home, id)
        let square1 = try #require(try home.open().tasks(of: id).first { $0.id.description == "square[1]" })
        #expect(square1.message == nil && square1.duration != nil && square1.worker == nil)
        // Kept for a resume, in the run's file (docs/results.md, Resume).
        #expect(square1.resultLocation?.hasPrefix("runs/\(id)/kept (record ") == true, "\(square1.resultLocation ?? "nil")")
    }

    @Test func aRunOnDaskIsRecordedWithItsWorkers() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let home = try Home()
        let r = try home.dkrun(["flow.lua", "--executor", "dask=" + cluster.address])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
        let run = try #require(try home.runs().first)
        let id = try #require(run["id"] as? String)
        #expect(run["executor"] as? String == "DaskExecutor(\(cluster.address))", "\(run)")
        try expectTable(home, id)
        let workers = try home.open().tasks(of: id).filter { $0.id.description != "square" }.map(\.worker)
        #expect(workers.count == 6 && workers.allSatisfy { $0?.hasPrefix("tcp://127.0.0.1:") == true }, "\(workers)")
        // The log has the workers' log lines.
        let logs = try home.dkrun(["runs", "logs", id, "square[2]"])
        #expect(logs.lines.contains { $0.hasSuffix("INFO    square[2] | squaring 3") }, "\(logs.stdout)")
    }

    /// A run on the test cluster, followed by the dkrun that submits it; then one submitted
    /// with --detach and followed by `dkrun k8s logs`: recorded from the pod's events, its
    /// DAG hash and parameters kept from the submission.
    @Test func kubernetesRunsAreRecordedByTheirFollowers() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let home = try Home()
        let flow = c.dir.file("flow.lua")
        try (Self.flow.replacingOccurrences(of: "return Flow(\"History\", function()",
                                             with: "return Flow(\"History\", { run_config = KubernetesRun {} }, function()"))
            .write(toFile: flow, atomically: true, encoding: .utf8)
        let env = ["DKRUN_HOME": home.path]
        let followed = try c.exec([CLI.binary, flow], environment: env)
        #expect(followed.status == 0 && !followed.stderr.contains("warning"), "\(followed.stdout)\(followed.stderr)")
        let first = try #require(try home.runs().first)
        let firstID = try #require(first["id"] as? String)
        #expect(first["placement"] as? String == "kubernetes" && first["state"] as? String == "Success", "\(first)")
        #expect(followed.stdout.contains("total | run \(firstID) total 14"), "\(followed.stdout)")
        try expectTable(home, firstID)

        let submitted = try c.exec([CLI.binary, flow, "--detach", "--param", "scale=2"], environment: env)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let id = try #require(submitted.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst(2).first?.dropLast())
        #expect(try home.open().run(String(id))?.state == .running)
        let logs = try c.exec([CLI.binary, "k8s", "logs", RunIDPrefix.short(String(id)), "--follow"], environment: env)
        #expect(logs.status == 0, "\(logs.stdout)\(logs.stderr)")
        let run = try #require(try home.open().run(String(id)))
        #expect(run.state == .success && run.parameters == ["scale": 2] && run.dagHash == first["dag_hash"] as? String, "\(run)")
        try expectTable(home, String(id))
        #expect(try c.exec([CLI.binary, "k8s", "cleanup", "--all"]).status == 0)
    }

    @Test func theRunsCommandsListShowPrintLogsRemoveAndPrune() throws {
        let home = try Home()
        try write(home.dir.file("other.lua"), "local t = task('t', function() error('nope') end)\nreturn Flow('Other', function() t() end)\n")
        #expect(try home.dkrun(["flow.lua"]).status == 0)
        #expect(try home.dkrun(["other.lua"]).status == 1)
        #expect(try home.dkrun(["flow.lua", "--executor", "threads=2"]).status == 0)
        // A run from 40 days ago.
        try home.open().record(RunRecord(id: "0ld00000-0000-4000-8000-000000000000", flow: "History", placement: .here,
                                         started: Clock.wall() - 40 * 86_400, state: .success), tasks: [])

        let list = try home.dkrun(["runs"])
        #expect(list.status == 0)
        #expect(list.lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["RUN", "FLOW", "STATE", "STARTED", "(UTC)", "TOOK", "EXECUTOR"])
        #expect(list.lines.dropFirst().map { $0.split(separator: " ")[1 ... 2].joined(separator: " ") }
            == ["History Success", "Other Failed", "History Success", "History Success"], "\(list.stdout)")
        let all = try home.runs()
        #expect(all.map { $0["flow"] as? String } == ["History", "Other", "History", "History"])
        #expect(try home.runs(["--flow", "Other"]).map { $0["state"] as? String } == ["Failed"])
        #expect(try home.runs(["--limit", "2"]).count == 2)
        #expect(try home.dkrun(["runs", "--flow", "None"]).stdout == "no runs of flow 'None' in the run history (\(home.history)/runs.sqlite)\n")

        let failed = try #require(all[1]["id"] as? String)
        let prefix = String(failed.prefix(6))
        let show = try home.dkrun(["runs", "show", prefix])
        #expect(show.status == 0)
        #expect(show.lines.first == "Flow run \(failed): flow 'Other', Failed (Some reference tasks failed: t)")
        try #require(show.lines.count == 5, "\(show.stdout)")
        #expect(show.lines[2].hasPrefix("  DAG hash ") && show.lines[2].hasSuffix("; parameters {}"))
        #expect(show.lines[3].split(separator: " ") == ["TASK", "STATE", "ATTEMPTS", "DURATION", "WORKER", "RESULT", "MESSAGE"])
        #expect(show.lines[4].hasPrefix("t     Failed  1         ") && show.lines[4].hasSuffix("-       other.lua:1: nope"), "\(show.stdout)")

        let logs = try home.dkrun(["runs", "logs", prefix])
        #expect(logs.status == 0)
        #expect(logs.lines.contains { $0.hasSuffix("INFO    Flow 'Other': 1 tasks, executor local") }, "\(logs.stdout)")
        #expect(logs.lines.contains { $0.contains("ERROR   t: Failed (") && $0.hasSuffix("): other.lua:1: nope") }, "\(logs.stdout)")
        #expect(logs.lines.contains { $0.hasPrefix("Flow 'Other': Failed in ") })
        let history = try #require(all[0]["id"] as? String)
        let child = try home.dkrun(["runs", "logs", history, "square[1]"])
        #expect(child.lines.allSatisfy { $0.contains("square[1]") }, "\(child.stdout)")
        #expect(child.lines.filter { $0.hasSuffix("square[1] | squaring 2") }.count == 2)
        #expect(child.lines.contains { $0.hasSuffix("WARNING square[1]: Retrying: flaky") || $0.contains("square[1]: Retrying") })
        let task = try home.dkrun(["runs", "logs", history, "square"])
        #expect(task.lines.filter { $0.contains("| squaring") }.count == 4 && task.lines.contains { $0.contains("square: Mapped") })

        let removed = try home.dkrun(["runs", "rm", prefix])
        #expect(removed.stdout == "removed flow run \(failed)\n")
        #expect(Files.kind(home.history + "/logs/\(failed).jsonl") == nil)
        let pruned = try home.dkrun(["runs", "prune", "--older-than", "30d"])
        #expect(pruned.status == 0 && pruned.stdout.hasPrefix("removed 1 flow run that started before "), "\(pruned.stdout)")
        #expect(try home.runs().count == 2)
        #expect(try home.dkrun(["runs", "prune", "--older-than", "0s"]).stdout.hasPrefix("removed 2 flow runs"))
        #expect(try home.runs().isEmpty)
    }

    /// Two runs whose ids start alike, for the prefix errors.
    static let twins = ["abcd1111-0000-4000-8000-000000000000", "abcd2222-0000-4000-8000-000000000000"]

    @Test(arguments: [
        (["runs", "show", "nosuch"], "dkrun: error: no flow run 'nosuch' in the run history (HISTORY/runs.sqlite)"),
        (["runs", "show", "abcd"], "dkrun: error: 'abcd' names 2 flow runs in the run history (HISTORY/runs.sqlite): give more of the id"),
        (["runs", "logs", "abcd-"], "dkrun: error: 'abcd-' names 2 flow runs in the run history (HISTORY/runs.sqlite): give more of the id"),
        (["runs", "rm", "abcd1", "zz"], "dkrun: error: no flow run 'zz' in the run history (HISTORY/runs.sqlite)"),
        (["runs", "logs", "abcd1", "nope"], "dkrun: error: flow run abcd1111-0000-4000-8000-000000000000 has no task 'nope' (its tasks: t)"),
        (["runs", "logs", "abcd2", "t"], "dkrun: error: flow run abcd2222-0000-4000-8000-000000000000 has no task 't' (no task ran)"),
        (["runs", "--limit", "0"], "Error: --limit must be at least 1, got 0"),
        (["runs", "--limit", "x"], "Error: The value 'x' is invalid for '--limit <N>'"),
        (["runs", "prune", "--older-than", "30x"], "Error: --older-than: a duration such as 30d, 12h, 90m or 45s expected, got '30x'"),
        (["runs", "prune", "--older-than", "1.5d"], "Error: --older-than: a duration such as 30d, 12h, 90m or 45s expected, got '1.5d'"),
        (["runs", "prune"], "Error: Missing expected argument '--older-than <DURATION>'"),
        (["runs", "rm"], "Error: Missing expected argument '<RUN> ...'"),
    ])
    func badInputIsNamedAndExitsTwo(arguments: [String], message: String) throws {
        let home = try Home()
        try home.open().record(RunRecord(id: Self.twins[0], flow: "x", placement: .here, started: 1, state: .success),
                               tasks: [TaskRunRecord(id: TaskRunID(task: "t"), position: 0, state: .success, attempts: 1)])
        try home.open().record(RunRecord(id: Self.twins[1], flow: "x", placement: .here, started: 2, state: .success), tasks: [])
        let r = try home.dkrun(arguments)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix(message.replacingOccurrences(of: "HISTORY", with: home.history) + "\n"), "\(r.stderr)")
    }

    /// Several dkrun processes at once, each with many task runs, write one history: every
    /// run and every task run is there, and none warned.
    @Test func severalDkrunProcessesWriteOneHistoryAtOnce() throws {
        let home = try Home()
        try write(home.dir.file("wide.lua"), """
            local square = task("square", function(x) dk.log.info("x %d", x) return x * x end)
            local n = tonumber(os.getenv("N"))
            local xs = {}
            for i = 1, n do xs[i] = i end
            return Flow("Wide " .. n, function() square:map(xs) end)
            """)
        let counts = [40, 41, 42, 43, 44, 45]
        let processes = try counts.map { n in
            let p = CLI.start(["wide.lua", "--executor", "threads=2", "-q"], in: home.dir.path,
                              environment: ["DKRUN_HOME": home.path, "N": String(n)])
            try p.run()
            return p
        }
        for (n, p) in zip(counts, processes) {
            let r = CLI.finish(p)
            #expect(r.status == 0 && r.stderr.isEmpty, "N=\(n): \(r.stderr)")
        }
        let history = try home.open()
        let runs = try history.runs()
        #expect(Set(runs.map(\.flow)) == Set(counts.map { "Wide \($0)" }))
        for run in runs {
            let n = Int(run.flow.dropFirst(5))!
            let tasks = try history.tasks(of: run.id)
            #expect(run.state == .success && tasks.count == n + 1 && tasks.allSatisfy { $0.state.isSuccessful }, "\(run.flow)")
            #expect(try RunLog.events(at: history.logPath(of: run.id)).filter { if case .log(_?, _, _, _) = $0 { true } else { false } }.count == n)
        }
    }

    /// Another process holds the history's write lock past the busy timeout: the run goes on
    /// and ends as it would, with one warning; `dkrun runs` still reads, `runs rm` fails clearly.
    @Test func aLockedHistoryCostsARunOneWarning() throws {
        let home = try Home()
        let history = try home.open()
        try history.record(RunRecord(id: Self.twins[0], flow: "x", placement: .here, started: 1, state: .success), tasks: [])
        let path = history.databasePath
        let holder = try SQLiteConnection(path: path, busyTimeout: 0)
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let r = try home.dkrun(["flow.lua"])
        #expect(r.status == 0 && r.stdout.contains("total | run "), "\(r.stdout)")
        #expect(r.stderr == "dkrun: warning: this run is not recorded in the run history: \(path) is locked by another process "
            + "(dkrun waited 5.0 s for it)\n")
        #expect(try home.runs().map { $0["id"] as? String } == [Self.twins[0]])
        let rm = try home.dkrun(["runs", "rm", "abcd"])
        #expect(rm.status == 1 && rm.stderr == "dkrun: error: \(path) is locked by another process (dkrun waited 5.0 s for it)\n", "\(rm.stderr)")
    }

    @Test func aHistoryFromANewerDkrunIsNamedAndLeftAlone() throws {
        let home = try Home()
        let path = try home.open().databasePath
        try SQLiteConnection(path: path, busyTimeout: 1).execute("PRAGMA user_version = 9")
        let r = try home.dkrun(["flow.lua"])
        let refusal = "\(path) was written by a newer dkrun (history schema version 9; this dkrun \(Product.version) reads versions "
            + "up to \(RunHistory.schemaVersion)): use that dkrun, or set DKRUN_HOME to keep this one's history elsewhere"
        #expect(r.status == 0 && r.stderr == "dkrun: warning: this run is not recorded in the run history: \(refusal)\n", "\(r.stderr)")
        let list = try home.dkrun(["runs"])
        #expect(list.status == 2 && list.stderr == "dkrun: error: \(refusal)\n")
        #expect(try SQLiteConnection(path: path, busyTimeout: 1).rows("PRAGMA user_version") == [[.int(9)]])
    }

    @Test func nothingIsRecordedInClear() throws {
        let secret = "hist0ry-s3cret-value"
        let home = try Home()
        try write(home.dir.file("secret.lua"), """
            local leak = task("leak", function(echo)
              dk.time.sleep(0.3)  -- the run's row (its parameter, the secret's value) is written first
              local s = dk.secrets.get("token")
              print("token " .. s .. " echo " .. echo)
              error("refused " .. s)
            end)
            return Flow("Secrets", function() leak(Parameter("echo")) end)
            """)
        for executor in ["local", "threads=2"] {
            let r = try home.dkrun(["secret.lua", "--executor", executor, "--param", "echo=\(secret)"],
                                   environment: ["DKRUN_SECRET_TOKEN": secret])
            #expect(r.status == 1 && !r.stdout.contains(secret))
        }
        let history = try home.open()
        let runs = try history.runs()
        #expect(runs.count == 2 && runs.allSatisfy { $0.parameters == ["echo": "****"] })
        let messages = try runs.flatMap { try history.tasks(of: $0.id) }.filter { $0.id.task == "leak" }.map(\.message)
        #expect(messages.count == 2 && messages.allSatisfy { $0?.hasSuffix("refused ****") == true }, "\(messages)")
        for file in try FileManager.default.subpathsOfDirectory(atPath: home.history) where Files.kind(home.history + "/" + file) == "file" {
            let bytes = try Files.read(home.history + "/" + file, limit: .events)
            #expect(!String(decoding: bytes, as: UTF8.self).contains(secret), "\(file)")
        }
        let shown = try home.dkrun(["runs", "logs", runs[0].id])
        #expect(shown.stdout.contains("leak | token **** echo ****") && !shown.stdout.contains(secret), "\(shown.stdout)")
    }
}
