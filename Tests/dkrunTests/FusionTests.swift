import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Fused chains and batches on real Dask (docs/dask.md, Fusion): what a run reports is what it
/// reports unfused, and the options that turn fusion off.
@Suite(.timeLimit(.minutes(10))) struct FusionTests {
    /// Each task run's events in the order they came (states with their attempt, log lines),
    /// as "state attempt" or "log: message"; durations, times and workers left out.
    static func eventsByTask(_ stdout: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for e in try events(stdout) {
            guard let task = e["task"] as? String else { continue }
            let id = task + ((e["map_index"] as? Int).map { "[\($0)]" } ?? "")
            switch e["event"] as? String {
            case "task_state": out[id, default: []].append("\(e["state"]!) \(e["attempt"] ?? "") \(e["message"] ?? "")")
            case "log": out[id, default: []].append("log: \(e["message"]!)")
            default: break
            }
        }
        return out
    }

    /// A chain with log lines, a task that fails on its first attempt and retries, a task that
    /// fails, one that then fails by its trigger and one that runs anyway; `counter` counts attempts.
    static func chain(counter: String, flowOptions: String = "", middle: String = "") -> String {
        """
        local step = task("step", function(x) dk.log("step got %s", tostring(x)) return (x or 0) + 1 end)
        local flaky = task("flaky", { max_retries = 2, retry_delay = 0 }, function(x)
          local f = io.open("\(counter)", "a") f:write("x\\n") f:close()
          local n = 0
          for _ in io.lines("\(counter)") do n = n + 1 end
          if n == 1 then error("first attempt fails") end
          return x * 10
        end)
        local bad = task("bad", { \(middle) }, function(x) error("bad at " .. x) end)
        local after = task("after", { trigger = dk.triggers.always_run }, function(_) print("after runs") return "done" end)
        return Flow("fused", { \(flowOptions) }, function()
          local a = step(1)
          local b = step(a)
          local c = flaky(b)
          local d = bad(c)
          local e = step(d)
          after(e)
        end)
        """
    }

    @Test func aFusedChainReportsWhatItReportsUnfused() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir()
        var runs: [(stdout: String, status: Int32, names: Set<String>)] = []
        try Self.chain(counter: dir.file("count")).write(toFile: dir.file("f.lua"), atomically: true, encoding: .utf8)
        for options in [[], ["--no-fuse"]] {
            try? FileManager.default.removeItem(atPath: dir.file("count"))
            let r = try CLI.run([dir.file("f.lua"), "--executor", "dask=" + cluster.address, "--json-events"] + options)
            runs.append((r.stdout, r.status, try cluster.taskNames()))
        }
        let (fused, unfused) = (runs[0], runs[1])
        #expect(fused.status == 0 && unfused.status == 0)
        // The whole chain was one Dask task; unfused, each task was its own.
        #expect(fused.names.contains("group-step..after"), "\(fused.names)")
        #expect(Set(unfused.names.subtracting(fused.names).filter { !$0.hasPrefix("dkrun-flow-") })
                == ["step", "step-2", "flaky", "bad", "step-3", "after"], "\(unfused.names)")
        #expect(try DaskTests.outcomes(fused.stdout) == DaskTests.outcomes(unfused.stdout))
        let byTask = try Self.eventsByTask(fused.stdout)
        #expect(byTask == (try Self.eventsByTask(unfused.stdout)))
        #expect(byTask["flaky"]?.first == "Running 1 " && byTask["flaky"]?.last == "Success 2 "
                && byTask["flaky"]?[1].hasPrefix("Retrying 1 ") == true, "\(byTask)")
        #expect(byTask["step-3"]?.last?.hasPrefix("TriggerFailed") == true)
        #expect(byTask["after"] == ["Running 1 ", "log: after runs", "Success 1 "], "\(byTask)")
    }

    @Test func aTaskTheFlowOrTheRunOptsOut() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let dir = try TempDir()
        // `bad` opts out: the chain is cut around it.
        try Self.chain(counter: dir.file("count-task"), middle: "fuse = false").write(toFile: dir.file("task.lua"), atomically: true, encoding: .utf8)
        var r = try CLI.run([dir.file("task.lua"), "--executor", "dask=" + cluster.address])
        #expect(r.status == 0, "\(r.stderr)")
        var names = try cluster.taskNames()
        #expect(names.isSuperset(of: ["group-step..flaky", "bad", "group-step-3..after"]), "\(names)")
        // The flow's fuse = false is every task's.
        try Self.chain(counter: dir.file("count-flow"), flowOptions: "fuse = false").write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        r = try CLI.run([dir.file("flow.lua"), "--executor", "dask=" + cluster.address])
        #expect(r.status == 0, "\(r.stderr)")
        let before = names
        names = try cluster.taskNames()
        #expect(!names.subtracting(before).contains { $0.hasPrefix("group-") } && names.subtracting(before).contains("step-2"), "\(names)")
        // dkrun inspect --json shows the option on each task.
        let inspected = try CLI.run(["inspect", dir.file("flow.lua"), "--json"])
        #expect(inspected.stdout.components(separatedBy: "\"fuse\":false").count - 1 == 6, "\(inspected.stdout)")
    }

    @Test func aWorkerLostInAChainRunsOnlyItsUnfinishedTasksAgain() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir()
        let log = dir.file("runs")
        try """
            local function ran(name)
              local f = io.open("\(log)", "a") f:write(name, "\\n") f:close()
            end
            local first = task("first", function() ran("first") return 1 end)
            -- Kills its Dask worker (the parent of its dkrun worker) on its first run, once
            -- the state of `first` has had time to leave the worker.
            local killer = task("killer", function(x)
              ran("killer")
              local n = 0
              for _ in io.lines("\(log)") do n = n + 1 end
              if n == 2 then
                dk.time.sleep(1)
                local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
                dk.shell.run { "kill", "-9", ppid }
                dk.time.sleep(5)
              end
              return x + 1
            end)
            local last = task("last", function(x) ran("last") return x + 1 end)
            return Flow("lost", function() last(killer(first())) end)
            """.write(toFile: dir.file("lost.lua"), atomically: true, encoding: .utf8)
        let r = try CLI.run([dir.file("lost.lua"), "--executor", "dask=" + cluster.address, "--json-events"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try DaskTests.outcomes(r.stdout)["last"] == "Success 3 ")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "first\nkiller\nkiller\nlast\n")
        #expect(try cluster.taskNames().contains("group-first..last"))
    }

    /// The `--json-events` log line that says what the run's tasks were fused into.
    static func fusion(_ stdout: String) throws -> String {
        try events(stdout).compactMap { $0["message"] as? String }.first { $0.hasPrefix("Fusion: ") } ?? ""
    }

    /// Three `--json-events` runs of a flow on the cluster with a history of their own: the
    /// first measures its tasks, the second batches the cheap ones, the third runs `--no-fuse`.
    static func measuredBatchedAndUnfused(_ flow: String, on cluster: DaskCluster) throws -> [CLI.Result] {
        let dir = try TempDir()
        try flow.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        return try [[], [], ["--no-fuse"]].map { options in
            try CLI.run([dir.file("flow.lua"), "--executor", "dask=" + cluster.address, "--json-events"] + options,
                        environment: ["DKRUN_HOME": dir.file("home")])
        }
    }

    /// The runs' outcomes and events by task, checked to be the same in every run (batched or
    /// not: the same states, results, attempts and log lines, and exit status).
    static func theSameInEveryRun(_ runs: [CLI.Result]) throws -> (outcomes: [String: String], byTask: [String: [String]]) {
        let outcomes = try DaskTests.outcomes(runs[1].stdout)
        #expect(runs.allSatisfy { $0.status == runs[1].status })
        #expect(try runs.allSatisfy { try DaskTests.outcomes($0.stdout) == outcomes })
        let byTask = try Self.eventsByTask(runs[1].stdout)
        #expect(try runs.allSatisfy { try Self.eventsByTask($0.stdout) == byTask })
        return (outcomes, byTask)
    }

    /// src -> mid x 30 (mid 7 fails) -> sink (all_finished), and check after mid 7 only.
    static let fan = """
        local src = task("src", function() return 1 end)
        local mid = task("mid", function(x, i) dk.log("mid %d", i) if i == 7 then error("seven") end return x + i end)
        local check = task("check", function(x) return x end)
        local sink = task("sink", { trigger = dk.triggers.all_finished }, function(...) return select("#", ...) end)
        return Flow("fan", function()
          local s = src()
          local mids = {}
          for i = 1, 30 do mids[i] = mid(s, i) end
          check(mids[7])
          sink(table.unpack(mids))
        end)
        """

    @Test func cheapTasksSideBySideAreBatchedOnceARunHasMeasuredThem() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let runs = try Self.measuredBatchedAndUnfused(Self.fan, on: cluster)
        #expect(try Self.fusion(runs[0].stdout).hasPrefix("Fusion: 33 tasks run as 33 Dask tasks (0 cheap tasks batched"))
        let batched = try Self.fusion(runs[1].stdout)
        #expect(batched.contains("(30 cheap tasks batched") && !batched.contains("as 33 Dask tasks"), "\(batched)")
        #expect(try Self.fusion(runs[2].stdout).hasPrefix("Fusion: 33 tasks run as 33 Dask tasks (0 cheap tasks batched"))
        #expect(try cluster.taskNames().contains { $0.hasPrefix("group-") && $0.contains("mid") })
        let (outcomes, byTask) = try Self.theSameInEveryRun(runs)
        // The failing task failed alone; its dependents decided by their triggers.
        #expect(outcomes["mid-7"]?.hasPrefix("Failed") == true && outcomes["mid-8"]?.hasPrefix("Success 9 ") == true, "\(outcomes)")
        #expect(outcomes["check"]?.hasPrefix("TriggerFailed") == true && outcomes["sink"]?.hasPrefix("Success") == true, "\(outcomes)")
        #expect(byTask["mid-8"] == ["Running 1 ", "log: mid 8", "Success 1 "], "\(byTask)")
    }

    /// A cheap mapped task (its 7th child fails) and another, each reduced; and a depth-first
    /// pipeline of the same two (inc-2 maps over sq-2 child by child), reduced: not batched.
    static let mapped = """
        local range = task("range", function(n) local t = {} for i = 1, n do t[i] = i end return t end)
        local sq = task("sq", function(x) dk.log("sq %d", x) if x == 7 then error("seven") end return x * x end)
        local inc = task("inc", function(y) return y + 1 end)
        local total = task("total", { trigger = dk.triggers.all_finished }, function(ys)
          local s, missing = 0, 0
          for i = 1, 30 do if ys[i] then s = s + ys[i] else missing = missing + 1 end end
          return s .. " missing " .. missing
        end)
        return Flow("mapfan", function()
          local ys = sq:map(range(30))
          total(ys)
          total(inc:map(range(30)))
          total(inc:map(sq:map(range(30))))
        end)
        """

    @Test func cheapMappedChildrenAreBatchedOnceARunHasMeasuredThem() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let runs = try Self.measuredBatchedAndUnfused(Self.mapped, on: cluster)
        func childLines(_ stdout: String) throws -> [String] {
            try events(stdout).compactMap { $0["message"] as? String }.filter { $0.hasPrefix("Fusion: the ") }.sorted()
        }
        #expect(try childLines(runs[0].stdout) == [] && childLines(runs[2].stdout) == [])
        // As many batches as their measured durations make (docs/dask.md), each of several children.
        let batched = try childLines(runs[1].stdout)
        #expect(batched.count == 2 && batched[0].wholeMatch(of: #/Fusion: the 30 children of inc run as \d+ Dask tasks \(30 cheap children batched\)/#) != nil
                && batched[1].wholeMatch(of: #/Fusion: the 30 children of sq run as \d+ Dask tasks \(30 cheap children batched\)/#) != nil,
                "\(runs[1].stdout)")
        let names = try cluster.taskNames()
        #expect(names.contains { $0.hasPrefix("group-sq[0..") } && names.contains { $0.hasPrefix("group-inc[0..") }, "\(names)")
        #expect(!names.contains { $0.hasPrefix("group-sq-2[") || $0.hasPrefix("group-inc-2[") }, "\(names)")
        let (outcomes, byTask) = try Self.theSameInEveryRun(runs)
        // The failing child failed alone (the reduces saw it); depth-first, its child downstream
        // decided by its trigger.
        #expect(outcomes["sq[6]"]?.hasPrefix("Failed") == true && outcomes["sq[7]"]?.hasPrefix("Success 64 ") == true, "\(outcomes)")
        #expect(outcomes["inc[6]"]?.hasPrefix("Success 8 ") == true && outcomes["inc-2[6]"]?.hasPrefix("TriggerFailed") == true)
        #expect(outcomes["total"]?.hasPrefix("Success \"9406 missing 1\"") == true
                && outcomes["total-2"]?.hasPrefix("Success \"495 missing 0\"") == true
                && outcomes["total-3"]?.hasPrefix("Success \"9435 missing 1\"") == true, "\(outcomes)")
        #expect(byTask["sq[7]"] == ["Running 1 ", "log: sq 8", "Success 1 "], "\(byTask)")
    }

    /// What ran in a fan of 10 cheap tasks batched (after a first run measured them) whose 5th
    /// kills its Dask worker once, on a cluster of 2 workers with `schedulerEnvironment`:
    /// the lines the tasks wrote (one each time they ran), sorted, and the run's outcomes.
    /// With `mapped`, the 10 tasks are the children of a mapped task, reduced by `total`.
    func batchLosingAWorker(mapped: Bool = false, schedulerEnvironment: [String: String] = [:]) throws
        -> (ran: [String], outcomes: [String: String]) {
        let cluster = try DaskCluster(workers: 2, schedulerEnvironment: schedulerEnvironment)
        defer { cluster.stop() }
        let dir = try TempDir()
        let (log, marker) = (dir.file("ran"), dir.file("kill"))
        try """
            local function ran(name)
              local f = io.open("\(log)", "a") f:write(name, "\\n") f:close()
            end
            local src = task("src", function() ran("src") return 1 end)
            -- The 5th kills its Dask worker (the parent of its dkrun worker) while the marker
            -- is there, once the states of the tasks before it have had time to leave the worker.
            local mid = task("mid", function(x, i)
              ran("mid " .. i)
              if i == 5 and os.remove("\(marker)") then
                dk.time.sleep(1)
                local ppid = io.open("/proc/self/stat"):read("a"):match("^%d+ %b() %a (%d+)")
                dk.shell.run { "kill", "-9", ppid }
                dk.time.sleep(5)
              end
              return x + i
            end)
            local after5 = task("after5", function(x) ran("after5") return x end)
            local sink = task("sink", { trigger = dk.triggers.all_finished }, function(...) ran("sink") return select("#", ...) end)
            local ids = task("ids", function() local t = {} for i = 1, 10 do t[i] = i end return t end)
            local total = task("total", { trigger = dk.triggers.all_finished }, function(xs)
              ran("total")
              local n = 0
              for i = 1, 10 do if xs[i] then n = n + 1 end end
              return n
            end)
            return Flow("lost", function()
              local s = src()
              if \(mapped) then return total(mid:map(dk.unmapped(s), ids())) end
              local mids = {}
              for i = 1, 10 do mids[i] = mid(s, i) end
              after5(mids[5])
              sink(table.unpack(mids))
            end)
            """.write(toFile: dir.file("lost.lua"), atomically: true, encoding: .utf8)
        let arguments = [dir.file("lost.lua"), "--executor", "dask=" + cluster.address, "--json-events"]
        let home = ["DKRUN_HOME": dir.file("home")]
        var r = try CLI.run(arguments, environment: home)
        let fusion = try Self.fusion(r.stdout)
        #expect(r.status == 0 && fusion.contains("(0 cheap tasks batched"), "\(r.stdout)\n\(r.stderr)")
        try FileManager.default.removeItem(atPath: log)
        try "".write(toFile: marker, atomically: true, encoding: .utf8)
        r = try CLI.run(arguments, environment: home)
        let lines = try events(r.stdout).compactMap { $0["message"] as? String }.filter { $0.hasPrefix("Fusion: ") }
        #expect(lines.contains { $0.contains(mapped ? "(10 cheap children batched" : "(10 cheap tasks batched") }, "\(r.stdout)\n\(r.stderr)")
        let ran = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        return (ran, try DaskTests.outcomes(r.stdout))
    }

    @Test func aWorkerLostInABatchRunsOnlyItsUnfinishedTasksAgain() throws {
        let (ran, outcomes) = try batchLosingAWorker()
        // Only the task that was running when its worker died ran again.
        #expect(ran == (["after5", "mid 5", "sink", "src"] + (1 ... 10).map { "mid \($0)" }).sorted(), "\(ran)")
        #expect(outcomes["mid-5"] == "Success 6 " && outcomes["sink"] == "Success 10 ", "\(outcomes)")
    }

    @Test func aBatchDaskGivesUpOnFailsItsUnfinishedTaskAndRunsTheOthers() throws {
        let (ran, outcomes) = try batchLosingAWorker(schedulerEnvironment: ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"])
        // The task that was running failed with Dask's reason, and its dependent by its trigger;
        // the tasks after it ran (once), those before it did not run again.
        #expect(ran == (["sink", "src"] + (1 ... 10).map { "mid \($0)" }).sorted(), "\(ran)")
        #expect(outcomes["mid-5"]?.hasPrefix("Failed  Dask gave up on this task") == true, "\(outcomes)")
        #expect(outcomes["after5"]?.hasPrefix("TriggerFailed") == true && outcomes["mid-10"] == "Success 11 "
                && outcomes["sink"]?.hasPrefix("Success") == true, "\(outcomes)")
    }

    @Test func aWorkerLostInABatchOfChildrenRunsOnlyItsUnfinishedChildrenAgain() throws {
        let (ran, outcomes) = try batchLosingAWorker(mapped: true)
        // Only the child that was running when its worker died ran again.
        #expect(ran.filter { $0 != "src" } == (["mid 5", "total"] + (1 ... 10).map { "mid \($0)" }).sorted(), "\(ran)")
        #expect(outcomes["mid[4]"] == "Success 6 " && outcomes["total"] == "Success 10 ", "\(outcomes)")
    }

    @Test func aBatchOfChildrenDaskGivesUpOnFailsItsUnfinishedChildAndRunsTheOthers() throws {
        let (ran, outcomes) = try batchLosingAWorker(mapped: true, schedulerEnvironment: ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"])
        // The child that was running failed with Dask's reason, the reduce saw it; the children
        // after it ran (once), those before it did not run again.
        #expect(ran.filter { $0 != "src" } == (["total"] + (1 ... 10).map { "mid \($0)" }).sorted(), "\(ran)")
        #expect(outcomes["mid[4]"]?.hasPrefix("Failed  Dask gave up on this task") == true, "\(outcomes)")
        #expect(outcomes["mid[9]"] == "Success 11 " && outcomes["total"] == "Success 9 ", "\(outcomes)")
    }
}
