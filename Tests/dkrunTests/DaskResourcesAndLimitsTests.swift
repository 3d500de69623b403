import DKCore
import DKTestSupport
import Foundation
import Testing

/// Task resources and tag limits on real Dask processes, and tag limits on threads
/// (docs/dask.md, docs/lua-api.md).
@Suite(.timeLimit(.minutes(10))) struct DaskResourcesAndLimitsTests {
    /// A flow whose mapped "db" task records each child's start and end in the file `log`
    /// (a parameter: Dask workers do not have the test's environment), and waits (five
    /// seconds at most) until `peak` children have been running at once, so that a run
    /// reaches its limit; children 3 and 6 then fail, which must give their slot back.
    static let limited = """
        local function overlap(log)
          local n, peak = 0, 0
          for line in io.lines(log) do
            n = n + (line:match("^start") and 1 or -1)
            if n > peak then peak = n end
          end
          return peak
        end
        local db = task("db", { tags = { "database" } }, function(i, peak, log)
          local function record(what) local f = io.open(log, "a") f:write(what, "\\n") f:close() end
          record("start " .. i)
          for _ = 1, 100 do if overlap(log) >= peak then break end dk.time.sleep(0.05) end
          record("end " .. i)
          if i % 3 == 0 then error("failed on purpose") end
          return i
        end)
        return Flow("limited", { limits = { database = 2 } }, function()
          db:map({ 1, 2, 3, 4, 5, 6 }, dk.unmapped(Parameter("peak", { default = 2 })), dk.unmapped(Parameter("log")))
        end)
        """

    /// The most children running at once in a run's log, and how many started.
    static func overlap(_ log: String) throws -> (peak: Int, started: Int) {
        var (n, peak, started) = (0, 0, 0)
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("start") { n += 1; started += 1 } else { n -= 1 }
            peak = max(peak, n)
        }
        return (peak, started)
    }

    func runLimited(_ arguments: [String]) throws -> (peak: Int, started: Int, output: CLI.Result) {
        let dir = try TempDir(["l.lua": Self.limited])
        let log = dir.file("log")
        let r = try CLI.run([dir.file("l.lua"), "--param", "log=" + log] + arguments)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")  // children 3 and 6 failed
        let (peak, started) = try Self.overlap(log)
        return (peak, started, r)
    }

    @Test func aTagLimitHoldsOnThreadsAndTheCommandLineWins() throws {
        let flows = try runLimited(["--executor", "threads=4"])
        #expect(flows.peak == 2 && flows.started == 6)
        let cli = try runLimited(["--executor", "threads=4", "--limit", "database=1", "--param", "peak=1"])
        #expect(cli.peak == 1 && cli.started == 6)
    }

    /// Three one-thread workers, a limit of 2: never more than 2 at once, every child runs
    /// (the failed ones released their lease), and the run's semaphore is gone afterwards.
    @Test func aTagLimitHoldsOnDaskWithASemaphoreOfTheRun() throws {
        let cluster = try DaskCluster(workers: 3)
        defer { cluster.stop() }
        let run = try runLimited(["--executor", "dask=" + cluster.address])
        #expect(run.peak == 2 && run.started == 6)
        #expect(try cluster.semaphores().filter { $0.hasPrefix("dkrun-") }.isEmpty)
    }

    /// One worker with one thread: a blocker (made first, so submitted first, and the highest
    /// priority) holds it until the scheduler has given the worker every other task; they
    /// then start highest priority first, not in the order they were made. The order is the
    /// start lines'. The files come from the worker's environment, so that no task waits for
    /// a parameter (which would decide what is submitted first).
    @Test func readyTasksStartInPriorityOrderOnDask() throws {
        let dir = try TempDir(["p.lua": """
            local function record(what) local f = io.open(os.getenv("LOG"), "a") f:write(what, "\\n") f:close() end
            local blocker = task("blocker", { priority = 100 }, function()
              record("blocker")
              while not dk.fs.exists(os.getenv("GO")) do dk.time.sleep(0.05) end
            end)
            local priorities = { a = 3, b = -1, c = 7, d = 0, e = 5, f = 2 }
            local others = {}
            for _, name in ipairs({ "a", "b", "c", "d", "e", "f" }) do
              others[name] = task(name, { priority = priorities[name] }, function() record(name) end)
            end
            return Flow("priorities", function()
              blocker()
              for _, name in ipairs({ "a", "b", "c", "d", "e", "f" }) do others[name]() end
            end)
            """])
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "GO": dir.file("go"), "LOG": dir.file("log")])
        try cluster.waitForWorkers(1)
        let process = CLI.start([dir.file("p.lua"), "--executor", "dask=" + cluster.address])
        try process.run()
        var given = 0
        for _ in 0 ..< 120 where given < 7 && process.isRunning {
            given = try cluster.processing().count
            if given < 7 { Thread.sleep(forTimeInterval: 0.5) }
        }
        try Data().write(to: URL(fileURLWithPath: dir.file("go")))
        let r = CLI.finish(process)
        #expect(given == 7, "the worker never had the blocker and the six tasks: \(r.stdout)\(r.stderr)")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let starts = try String(contentsOfFile: dir.file("log"), encoding: .utf8).split(separator: "\n")
        #expect(starts == ["blocker", "c", "e", "a", "f", "d", "b"])
    }

    /// Tasks that need a GPU run on the worker that offers one, whether they ask with the
    /// option or with Prefect 1's tag; a task needing more than any worker offers is refused
    /// before the run, naming the task and the resource.
    @Test func tasksGoToTheWorkersThatOfferTheirResources() throws {
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "ROLE": "cpu"])
        try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "ROLE": "gpu"], resources: "GPU=1")
        try cluster.waitForWorkers(2)
        let dir = try TempDir(["gpu.lua": """
            local train = task("train", { resources = { GPU = 1 } }, function(i) return os.getenv("ROLE") end)
            local tagged = task("tagged", { tags = { "dask-resource:GPU=1" } }, function() return os.getenv("ROLE") end)
            return Flow("gpu", function() train:map({ 1, 2, 3, 4, 5, 6 }) tagged() end)
            """, "big.lua": """
            local big = task("big", { resources = { GPU = 2 } }, function() return 1 end)
            return Flow("big", function()
              big()
            end)
            """])
        let r = try CLI.run([dir.file("gpu.lua"), "--executor", "dask=" + cluster.address, "--json-events"])
        #expect(r.status == 0, "\(r.stderr)")
        let outcomes = try DaskTests.outcomes(r.stdout)
        #expect(outcomes.count == 8)
        for id in (0 ..< 6).map({ "train[\($0)]" }) + ["tagged"] { #expect(outcomes[id] == "Success \"gpu\" ", "\(id)") }

        let refused = try CLI.run([dir.file("big.lua"), "--executor", "dask=" + cluster.address])
        #expect(refused.status == 2)
        #expect(refused.stdout.contains("task 'big' (\(dir.file("big.lua")):3) needs resources GPU=2, and no worker offers resource GPU "
            + "(needs 2, the most a worker offers is 1)"), "\(refused.stdout)")
    }

    /// A temporary LocalCluster's workers offer what its cluster_kwargs give them.
    @Test func aTemporaryClusterOffersItsClusterKwargsResources() throws {
        let dir = try TempDir(["t.lua": """
            local t = task("t", { resources = { TPU = 1 } }, function() return 1 end)
            local flow = Flow("tpu", function() t() end)
            flow.executor = DaskExecutor { cluster_kwargs = { n_workers = 1, threads_per_worker = 1, resources = { GPU = 1 } } }
            return flow
            """])
        let r = try CLI.run([dir.file("t.lua")])
        #expect(r.status == 2)
        #expect(r.stdout.contains("task 't' (") && r.stdout.contains("no worker offers resource TPU (needs 1, the most a worker offers is 0)"),
                "\(r.stdout)")
    }
}
