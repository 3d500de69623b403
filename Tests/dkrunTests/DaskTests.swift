import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Flows on real Dask: `dask scheduler` and `dask worker` processes on 127.0.0.1 (or a
/// temporary LocalCluster the run starts), driven through the dkrun command.
@Suite(.timeLimit(.minutes(10))) struct DaskTests {
    /// Each task run's final state and result, from `--json-events` output.
    static func outcomes(_ stdout: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for e in try events(stdout) where e["event"] as? String == "task_state" {
            let state = e["state"] as! String
            guard state != "Running" && state != "Retrying" else { continue }
            let id = (e["task"] as! String) + ((e["map_index"] as? Int).map { "[\($0)]" } ?? "")
            let result = e["result"].map { String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self) }
            out[id] = state + " " + (result ?? "") + " " + ((e["message"] as? String) ?? "")
        }
        return out
    }

    /// Every task log line, as "task: message", sorted (tasks run concurrently).
    static func logLines(_ stdout: String) throws -> [String] {
        try events(stdout).filter { $0["event"] as? String == "log" && $0["task"] != nil }
            .map { "\($0["task"]!)\(($0["map_index"] as? Int).map { "[\($0)]" } ?? ""): \($0["message"]!)" }.sorted()
    }

    @Test func everyExampleRunsTheSameOnDask() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let out = try TempDir()
        let examples: [[String]] = [
            ["examples/hello.lua"], ["examples/etl.lua"], ["examples/min_max_workers.lua"],
            ["examples/custom_worker_spec.lua"], ["examples/static_cluster.lua"],
            ["examples/vendor_report.lua", "--param", "input=\(CLI.repoRoot)/examples/sales.csv",
             "--param", "output=\(out.file("summary.json"))"],
        ]
        for args in examples {
            let local = try CLI.run(args + ["--executor", "local", "--json-events"])
            let dask = try CLI.run(args + ["--executor", "dask=" + cluster.address, "--json-events"])
            #expect(dask.status == local.status, "\(args[0]): \(dask.stderr)")
            #expect(try Self.outcomes(dask.stdout) == Self.outcomes(local.stdout), "\(args[0])")
            #expect(try Self.logLines(dask.stdout) == Self.logLines(local.stdout), "\(args[0])")
            let workers = Set(try events(dask.stdout).compactMap { $0["worker"] as? String })
            #expect(!workers.isEmpty && workers.allSatisfy { $0.hasPrefix("tcp://127.0.0.1:") })
        }
        // Each run's events topic is dropped from the scheduler that outlives it: at most the
        // last run's is left, made again by events that came after its driver dropped it.
        let runTopics = try cluster.eventTopics().filter { $0.hasPrefix("dkrun-") }
        #expect(runTopics.count <= 1, "\(runTopics)")
    }

    @Test func theStaticClusterSeedPrintsExample() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let r = try CLI.run(["examples/static_cluster.lua", "--executor", "dask=" + cluster.address])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("output_value | Example!"))
        #expect(r.stdout.contains("Dask scheduler \(cluster.address)"))
        #expect(r.stdout.contains("output_value: Running on tcp://127.0.0.1:"))
        #expect(r.stdout.contains("Task runs per worker: tcp://127.0.0.1:"))
    }

    /// `--verbose` gives the driver's peak memory (what scripts/bench_dask.py reports), not
    /// in a normal run's output.
    @Test func theDriversPeakMemoryIsInTheVerboseOutput() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let verbose = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address, "--verbose"])
        #expect(verbose.status == 0, "\(verbose.stderr)")
        let mib = verbose.stdout.firstMatch(of: #/The Dask driver's peak RSS: (\d+) MiB/#).flatMap { Int($0.1) }
        #expect((mib ?? 0) > 0, "\(verbose.stdout)")
        let normal = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address])
        #expect(normal.status == 0 && !normal.stdout.contains("peak RSS"), "\(normal.stdout)")
    }

    @Test func aLocalRunReachesTheWorkersOfATemporaryCluster() throws {
        try LocalRunTests.check(executor: "dask")  // the driver inherits it, and the workers it starts
    }

    @Test func aTemporaryClusterRunsTheFlowAndGoesAway() throws {
        let dir = try TempDir(["t.lua": """
            local square = task("square", function(x) return x * x end)
            local total = task("total", function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end return s end)
            local flow = Flow("temporary", function() total(square:map({ 1, 2, 3, 4 })) end)
            flow.executor = DaskExecutor { cluster_kwargs = { n_workers = 2, threads_per_worker = 1 },
                                           adapt_kwargs = { minimum = 1, maximum = 2 } }
            return flow
            """])
        let marker = "DKRUN_TEST_MARK=" + UUID().uuidString
        let r = try CLI.run([dir.file("t.lua")], environment: ["DKRUN_TEST_MARK": String(marker.dropFirst(16))])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("(a temporary cluster for this run), dashboard http://127.0.0.1:"))
        #expect(r.stdout.contains("total: Success"))
        #expect(r.stdout.contains("square: Mapped (") && r.stdout.contains("Mapped 4 items"))
        #expect(processes(marked: marker).isEmpty)

        let bad = try TempDir(["b.lua": """
            local flow = Flow("bad kwargs", function() task("t", function() end)() end)
            flow.executor = DaskExecutor { cluster_kwargs = { n_wrokers = 2 } }
            return flow
            """])
        let refused = try CLI.run([bad.file("b.lua")])
        #expect(refused.status == 1)
        // The driver's refusal ends the flow Failed, with its reason in the summary.
        #expect(refused.stdout.contains("\n  DaskExecutor cluster_kwargs:") && refused.stdout.contains("n_wrokers"), "\(refused.stdout)")
    }

    @Test func aWorkerKilledMidTaskIsReplacedAndTheFlowSucceeds() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir()
        let pidFile = dir.file("pids")
        try """
            -- Records which Dask worker process runs it (the parent of its dkrun worker).
            local slow = task("slow", function()
              local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
              local f = io.open("\(pidFile)", "a") f:write(ppid, "\\n") f:close()
              dk.time.sleep(2)
              return "done"
            end)
            return Flow("survivor", function() slow() end)
            """.write(toFile: dir.file("k.lua"), atomically: true, encoding: .utf8)
        let process = CLI.start([dir.file("k.lua"), "--executor", "dask=" + cluster.address])
        try process.run()
        var victim: pid_t?
        let deadline = Date().addingTimeInterval(20)
        while victim == nil && Date() < deadline {
            victim = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.split(separator: "\n").first.flatMap { pid_t($0) }
            usleep(50_000)
        }
        let killed = try #require(victim)
        kill(killed, SIGKILL)
        let r = CLI.finish(process)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("slow: Success"))
        let runs = try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: "\n")
        #expect(runs.count == 2 && runs[1] != runs[0])  // run again, in another worker process
    }

    @Test func aTaskThatKillsEveryWorkerFailsAndTheRunEnds() throws {
        let cluster = try DaskCluster(workers: 2, schedulerEnvironment: ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"])
        defer { cluster.stop() }
        let dir = try TempDir(["k.lua": """
            local killer = task("killer", function()
              local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
              dk.shell.run { "kill", "-9", ppid }
              dk.time.sleep(5)
            end)
            local report = task("report", { trigger = dk.triggers.always_run }, function() return "reported" end)
            local flow = Flow("killer")
            flow:set_dependencies(report, { upstream_tasks = { killer } })
            flow:set_reference_tasks { killer, report }
            return flow
            """])
        let r = try CLI.run([dir.file("k.lua"), "--executor", "dask=" + cluster.address])
        #expect(r.status == 1)
        // Dask gives it up (KilledWorker), or dkrun does, counting the same deaths: whichever is first.
        #expect(r.stdout.contains("killer: Failed: Dask gave up on this task: the workers running it"), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("report: Success"))

        // A mapped child that kills its workers: the mapped task and what is downstream go on
        // (the nannies bring the workers back). A sibling queued on a dying worker may share
        // its fate: Dask counts it as suspicious too.
        try """
            local killer = task("killer", function(x)
              if x == 2 then
                local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
                dk.shell.run { "kill", "-9", ppid }
                dk.time.sleep(5)
              end
              return x
            end)
            local report = task("report", { trigger = dk.triggers.always_run }, function(xs) return "reported" end)
            return Flow("mapped killer", function() report(killer:map({ 1, 2, 3 })) end)
            """.write(toFile: dir.file("m.lua"), atomically: true, encoding: .utf8)
        let mapped = try CLI.run([dir.file("m.lua"), "--executor", "dask=" + cluster.address, "--json-events"])
        let outcomes = try Self.outcomes(mapped.stdout)
        #expect(outcomes["killer[1]"]?.hasPrefix("Failed  Dask gave up on this task") == true, "\(outcomes)")
        #expect(outcomes["killer"]?.hasPrefix("Mapped [") == true && outcomes["killer"]?.contains("Mapped 3 items; ") == true)
        #expect(outcomes["report"] == "Success \"reported\" ")
    }

    @Test func anUnreachableSchedulerIsNamedWithinTheTimeout() throws {
        let dir = try TempDir(["u.lua": """
            local flow = Flow("unreachable", function() task("t", function() end)() end)
            flow.executor = DaskExecutor { address = "tcp://127.0.0.1:9", client_kwargs = { timeout = 2 } }
            return flow
            """])
        let r = try CLI.run([dir.file("u.lua")])
        #expect(r.status == 1)
        // client_kwargs.timeout is what the driver waited, not Dask's 30 s default.
        #expect(r.stdout.contains("\n  cannot reach the Dask scheduler at tcp://127.0.0.1:9: "
            + "Timed out trying to connect to tcp://127.0.0.1:9 after 2 s\n"), "\(r.stdout)")
    }

    @Test func aSchedulerGoneMidRunEndsTheRun() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let dir = try TempDir(["g.lua": """
            local flow = Flow("orphaned", function() task("sleepy", function() dk.time.sleep(20) end)() end)
            flow.executor = DaskExecutor { address = "\(cluster.address)", client_kwargs = { timeout = 2 } }
            return flow
            """])
        let process = CLI.start([dir.file("g.lua"), "--json-events"])
        try process.run()
        try waitForLine(process, containing: "\"Running\"")
        cluster.stop()
        let r = CLI.finish(process)
        #expect(r.status == 1)
        let end = try #require(r.stdout.split(separator: "\n").last.map { try JSON.decode(Array($0.utf8)) })
        #expect(end["event"] == "flow_finished" && end["state"] == "Failed")
        #expect(end["message"]?.stringValue?.hasPrefix("lost the Dask scheduler at \(cluster.address): ") == true, "\(r.stdout)")
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalCancelsTheRunAndShutsTheTemporaryClusterDown(signal: Int32) throws {
        let dir = try TempDir(["s.lua": """
            local spin = task("spin", function() while true do end end)
            local never = task("never", function(x) return x end)
            local flow = Flow("spinner", function() never(spin()) end)
            flow.executor = DaskExecutor { cluster_kwargs = { n_workers = 1, threads_per_worker = 1 } }
            return flow
            """])
        let marker = UUID().uuidString
        let process = CLI.start([dir.file("s.lua"), "--json-events"], environment: ["DKRUN_TEST_MARK": marker])
        try process.run()
        try waitForLine(process, containing: "\"Running\"")
        kill(process.processIdentifier, signal)
        let r = CLI.finish(process)
        #expect(r.status == 130, "\(r.stderr)")
        let outcomes = try Self.outcomes(r.stdout)
        #expect(outcomes["spin"]?.hasPrefix("Cancelled") == true && outcomes["never"]?.hasPrefix("Cancelled") == true)
        #expect(processes(marked: "DKRUN_TEST_MARK=" + marker).isEmpty)
    }

    @Test func aWorkerWithoutDkrunOrWithAnotherVersionIsNamed() throws {
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        let dir = try TempDir(["old-dkrun": """
            #!\(venvBin)python
            # A dkrun that speaks another payload version.
            import sys
            from dkrun_dask.frames import read_frame, write_frame
            while (request := read_frame(sys.stdin.buffer)) is not None:
                write_frame(sys.stdout.buffer, {"ok": True, "version": "0.0.1", "payload_version": 99})
            """])
        chmod(dir.file("old-dkrun"), 0o755)
        try cluster.addWorker(environment: [:], name: "bare")
        try cluster.waitForWorkers(1)
        let missing = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("name: Failed: Dask worker tcp://127.0.0.1:"), "\(missing.stdout)")
        #expect(missing.stdout.contains("dkrun is not installed on this Dask worker (set DKRUN_BINARY or put dkrun on PATH)"))

        cluster.stop()
        let other = try DaskCluster(workers: 0)
        defer { other.stop() }
        try other.addWorker(environment: ["DKRUN_BINARY": dir.file("old-dkrun")])
        try other.waitForWorkers(1)
        let old = try CLI.run(["examples/hello.lua", "--executor", "dask=" + other.address])
        #expect(old.status == 1)
        #expect(old.stdout.contains("runs dkrun 0.0.1 (\(dir.file("old-dkrun"))), which reads payload version 99; "
                                    + "this flow's payload is version \(Payload.version)"), "\(old.stdout)")
    }

    @Test func aTaskThatEndsItsProcessFailsAndTheNextGetsANewOne() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let dir = try TempDir(["x.lua": """
            local exits = task("exits", function() os.exit(3) end)
            local kills = task("kills", function() os.execute("kill -9 $PPID") end)
            local spin = task("spin", { timeout = 0.3 }, function() while true do end end)
            local after = task("after", { trigger = dk.triggers.all_finished }, function() return "done" end)
            local flow = Flow("exits")
            flow:set_dependencies(after, { upstream_tasks = { exits, kills, spin } })
            return flow
            """])
        let r = try CLI.run([dir.file("x.lua"), "--executor", "dask=" + cluster.address])
        #expect(r.status == 0, "\(r.stderr)")  // `after` is the only reference task
        // os.exit fails its task as locally; the process serves on.
        #expect(r.stdout.contains("  Failed: exits — the task called os.exit(3)"), "\(r.stdout)")
        #expect(r.stdout.contains("kills: Failed: the dkrun worker process was killed by SIGKILL while running this task "
                                  + "(Dask worker tcp://127.0.0.1:"), "\(r.stdout)")
        #expect(r.stdout.contains("spin: TimedOut (") && r.stdout.contains("Task timed out after 300.0 ms"))
        #expect(r.stdout.contains("after: Success"))
    }

    @Test func aTimeoutStopsASleepAProgramAndATransferOnAWorker() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let server = try HTTPTestServer()
        let dir = try TempDir()
        try """
            local nap = task("nap", { timeout = 1 }, function() dk.time.sleep(30); print("woke") end)
            local run = task("run", { timeout = 1 }, function()
              dk.shell.run { "sh", "-c", "sleep 30 & echo $$ $! > \(dir.file("pids")); wait" }
              print("returned")
            end)
            local get = task("get", { timeout = 1 }, function() dk.http.get("\(server.url("/slow"))"); print("answered") end)
            return Flow("timeouts", function() nap() run() get() end)
            """.write(toFile: dir.file("t.lua"), atomically: true, encoding: .utf8)
        let r = try CLI.run([dir.file("t.lua"), "--executor", "dask=" + cluster.address, "--json-events"])
        #expect(r.status == 1, "\(r.stderr)")
        let outcomes = try Self.outcomes(r.stdout)
        for name in ["nap", "run", "get"] {
            #expect(outcomes[name] == "TimedOut  Task timed out after 1.0 s", "\(name)")
        }
        #expect(try Self.logLines(r.stdout).isEmpty)
        let pids = try processIDs(in: dir.file("pids"))
        try #require(pids.count == 2)
        #expect(kill(pids[0], 0) == -1 && errno == ESRCH, "the worker reaped the shell")
        #expect(stopsRunning(pids[1]), "the shell's background sleep is gone")
    }

    @Test func hugeAndUnserialisableResultsBehaveAsLocally() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir(["h.lua": """
            local big = task("big", function() return string.rep("x", 40 * 1024 * 1024) end)
            local size = task("size", function(s) return #s end)
            local bad = task("bad", function() return { f = function() end } end)
            return Flow("results", function() size(big()) bad() end)
            """])
        let local = try CLI.run([dir.file("h.lua"), "--executor", "local", "-q"])
        let dask = try CLI.run([dir.file("h.lua"), "--executor", "dask=" + cluster.address, "--json-events"])
        #expect(dask.status == 1 && local.status == 1)
        let outcomes = try Self.outcomes(dask.stdout)
        #expect(outcomes["size"] == "Success \(40 * 1024 * 1024) ")
        #expect(outcomes["big"]?.hasPrefix("Success \"xxxx") == true)
        let message = try #require(outcomes["bad"]?.dropFirst("Failed  ".count))
        #expect(local.stdout.contains("Failed: bad — \(message)"), "\(local.stdout) vs \(message)")
    }
}

/// Reads a running dkrun's stdout until a line contains `text` (at most 30 s).
func waitForLine(_ process: Process, containing text: String) throws {
    let out = (process.standardOutput as! Pipe).fileHandleForReading
    var seen = ""
    let deadline = Date().addingTimeInterval(30)
    while !seen.contains(text) {
        let chunk = out.availableData
        if chunk.isEmpty || Date() > deadline { throw CLIError("never printed \(text): \(seen)") }
        seen += String(decoding: chunk, as: UTF8.self)
    }
}
