import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C and SIGTERM stop a run whatever its tasks are doing: the programs they started stop
/// with everything those started, no task starts after the signal, the summary is printed and
/// dkrun exits 130; a second signal kills what is left and exits at once. No test measures
/// time: each waits until the tasks are where it wants them (the programs wrote their pids),
/// then checks what ran and what is left.
@Suite struct StoppingTests {
    /// How a task starts the program `command`, by kind.
    static let starts = [
        "dk.shell.run": #"dk.shell.run { "sh", "-c", command }"#,
        "os.execute": "os.execute(command)",
        "io.popen": #"io.popen(command):read("a")"#,
    ]

    /// A flow whose tasks, the four children of a mapped task, each start a program of `kind`,
    /// which writes its shell's pid and its background sleep's on a line of `pids`, then waits.
    static func mappedFlow(kind: String, pids: String) -> String {
        """
        local command = "sleep 30 & echo $$ $! >> \(pids); wait"
        local child = task("child", function(i) \(starts[kind]!) end)
        return Flow("stopping", function() child:map({ 1, 2, 3, 4 }) end)
        """
    }

    /// Waits until the programs of `count` tasks have written their pids (or fails, after 30 s
    /// or when dkrun has ended) and returns them.
    static func waitForPrograms(_ count: Int, in file: String, of process: Process) throws -> [pid_t] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let pids = (try? processIDs(in: file)) ?? []
            if pids.count >= 2 * count { return pids }
            guard process.isRunning, Date() < deadline else { throw CLIError("\(count) programs never started: \(pids)") }
            usleep(10_000)
        }
    }

    /// Runs the flow `flow.lua` in `dir` on `executor` with `--json-events`, waits until the
    /// programs of `running` tasks have written their pids to `dir`'s `pids`, sends `signal`,
    /// and returns what dkrun printed and those pids.
    static func signalled(_ dir: TempDir, on executor: String, running: Int,
                          signal: Int32) throws -> (result: CLI.Result, pids: [pid_t]) {
        let process = CLI.start([dir.file("flow.lua"), "--executor", executor, "--json-events"])
        try process.run()
        let pids = try waitForPrograms(running, in: dir.file("pids"), of: process)
        kill(process.processIdentifier, signal)
        return (CLI.finish(process), pids)
    }

    /// The `task_state` events of a `--json-events` output, as "child[2] Cancelled message".
    static func states(_ stdout: String) throws -> [String] {
        try events(stdout).filter { $0["event"] as? String == "task_state" }.map {
            "\($0["task"]!)\(($0["map_index"] as? Int).map { "[\($0)]" } ?? "") \($0["state"]!) \($0["message"] as? String ?? "")"
        }
    }

    @Test(arguments: ["dk.shell.run", "os.execute", "io.popen"],
          [("local", 1, SIGINT), ("local", 1, SIGTERM), ("threads=2", 2, SIGINT), ("threads=2", 2, SIGTERM)])
    func aSignalStopsTheProgramsAndStartsNoTask(kind: String, on: (executor: String, running: Int, signal: Int32)) throws {
        let dir = try TempDir()
        try Self.mappedFlow(kind: kind, pids: dir.file("pids")).write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let (r, pids) = try Self.signalled(dir, on: on.executor, running: on.running, signal: on.signal)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.stderr == "dkrun: error: interrupted\n")
        let states = try Self.states(r.stdout)
        // Only the tasks that had started their program ran, and they were stopped.
        #expect(states.filter { $0.hasSuffix(" Running ") }.count == on.running, "\(states)")
        #expect(states.filter { $0.hasSuffix(" Cancelled Interrupted") }.count == on.running, "\(states)")
        #expect(states.filter { $0.hasSuffix(" Cancelled The flow run was interrupted before this task ran") }.count
                == 4 - on.running, "\(states)")
        #expect(try events(r.stdout).last?["state"] as? String == "Cancelled", "the summary's event ends the output")
        #expect(pids.count == 2 * on.running, "no program started after the signal: \(pids)")
        for (shell, sleep) in zip(pids.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                                  pids.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)) {
            #expect(kill(shell, 0) == -1 && errno == ESRCH, "\(kind): dkrun reaped the shell \(shell)")
            #expect(stopsRunning(sleep), "\(kind): the shell's background sleep \(sleep) is gone")
        }
    }

    /// A task `stuck` that holds a program open (its shell's and its background sleep's pids
    /// written to `file`), then runs a pattern match that backtracks for hours, in C, where
    /// no hook stops it.
    static func stuckTask(writingPIDsTo file: String) -> String {
        """
        local stuck = task("stuck", function()
          local program = io.popen("sleep 30 & echo $$ $! > \(file); wait")
          return string.rep("a", 100000):find(".-.-.-x")
        end)
        """
    }

    @Test func aSecondSignalKillsWhatIsLeftAndExitsAtOnce() throws {
        // `stuck` holds a program open and then runs a pattern match that backtracks for hours,
        // in C, where nothing stops it; `other` waits for a program, which the first signal stops.
        let dir = try TempDir()
        try """
            \(Self.stuckTask(writingPIDsTo: dir.file("stuck")))
            local other = task("other", function()
              dk.shell.run { "sh", "-c", "sleep 30 & echo $$ $! > \(dir.file("other")); wait" }
            end)
            return Flow("stuck", function() stuck() other() end)
            """.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let process = CLI.start([dir.file("flow.lua"), "--executor", "threads=2", "--json-events"])
        try process.run()
        let stuck = try Self.waitForPrograms(1, in: dir.file("stuck"), of: process)
        let other = try Self.waitForPrograms(1, in: dir.file("other"), of: process)
        kill(process.processIdentifier, SIGINT)
        #expect(stopsRunning(other[0], within: 30), "the first signal stopped `other`'s program")
        kill(process.processIdentifier, SIGINT)
        let r = CLI.finish(process)
        #expect(r.status == 130)
        #expect(try !events(r.stdout).contains { $0["event"] as? String == "flow_finished" }, "it exited at once")
        for pid in stuck + other { #expect(stopsRunning(pid), "\(pid) is gone") }
    }

    @Test(arguments: ["local", "threads=2"])
    func anExitInATaskFailsItAndTheRunEndsWithItsSummary(executor: String) throws {
        let dir = try TempDir(["flow.lua": """
            local exits = task("exits", function() os.exit(0) end)
            local after = task("after", function(x) return x end)
            local cleanup = task("cleanup", { trigger = dk.triggers.always_run }, function(x) print("cleaned up") end)
            return Flow("exits", function() cleanup(after(exits())) end)
            """])
        let r = try CLI.run([dir.file("flow.lua"), "--executor", executor])
        #expect(r.status == 0, "\(r.stderr)")  // `cleanup`, the only reference task, succeeded
        #expect(r.stdout.contains("cleanup | cleaned up"), "\(r.stdout)")
        #expect(r.stdout.contains("  Failed: exits — the task called os.exit(0)"), "\(r.stdout)")
        #expect(r.stdout.contains("  TriggerFailed: after — "), "\(r.stdout)")
    }

    @Test func anExitAtTheTopLevelOfTheScriptOrInTheREPLEndsDkrun() throws {
        let dir = try TempDir(["flow.lua": """
            print("checked")
            if true then os.exit(4) end
            return Flow("never", function() end)
            """, "input.txt": """
            t = task("t", function() os.exit(3) end)
            f = Flow("f", function() t() end)
            f:run().tasks.t.message
            os.exit(5)
            print("not reached")
            """])
        let script = try CLI.run([dir.file("flow.lua")])
        #expect(script.status == 4)
        #expect(script.stdout == "checked\n")
        let process = CLI.start(["repl"])
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir.file("input.txt")))
        try process.run()
        let repl = CLI.finish(process)
        #expect(repl.status == 5)
        #expect(repl.stdout.contains("\"the task called os.exit(3)\"\n"), "\(repl.stdout)")
        #expect(!repl.stdout.contains("not reached"))
    }
}

/// The same on Dask: the driver cancels the run, and each worker's dkrun, told to stop,
/// stops its task and the programs it started.
@Suite struct DaskStoppingTests {
    @Test func aSignalStopsTheProgramsOfTasksOnTheWorkers() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir()
        let kinds = ["dk.shell.run", "os.execute", "io.popen", "dk.shell.run"]
        try """
            local command = "sleep 30 & echo $$ $! >> \(dir.file("pids")); wait"
            local starts = {
              \(kinds.map { "function() \(StoppingTests.starts[$0]!) end" }.joined(separator: ",\n  "))
            }
            local child = task("child", function(i) starts[i]() end)
            return Flow("stopping", function() child:map({ 1, 2, 3, 4 }) end)
            """.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let (r, pids) = try StoppingTests.signalled(dir, on: "dask=" + cluster.address, running: 2, signal: SIGINT)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(try StoppingTests.states(r.stdout).filter { $0.hasSuffix(" Running ") }.count == 2, "\(r.stdout)")
        #expect(pids.count == 4, "no program started after the signal: \(pids)")
        for pid in pids { #expect(stopsRunning(pid), "\(pid) is gone") }
        // The workers serve the next run.
        #expect(try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address]).status == 0)
    }

    @Test func aTaskStuckInCOnAWorkerIsStoppedWithItsPrograms() throws {
        // The worker's dkrun cannot stop the pattern match: told again, it kills the programs and exits.
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let dir = try TempDir()
        try """
            \(StoppingTests.stuckTask(writingPIDsTo: dir.file("pids")))
            return Flow("stuck", function() stuck() end)
            """.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let (r, pids) = try StoppingTests.signalled(dir, on: "dask=" + cluster.address, running: 1, signal: SIGTERM)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(try StoppingTests.states(r.stdout).last?.hasPrefix("stuck Cancelled") == true, "\(r.stdout)")
        for pid in pids { #expect(stopsRunning(pid), "\(pid) is gone") }
    }
}
