import DKTestSupport
import Foundation
import Testing

/// Mapped pipelines run depth-first on threads and on Dask (child i of a stage starts when
/// child i of the stage before has ended) and breadth-first on the local executor, as Prefect
/// 1's executors do. Told apart by the order of the lines the tasks append to a log file.
@Suite(.timeLimit(.minutes(10))) struct DepthFirstTests {
    /// Three stages mapped child by child over six items, then a reduce. a[1...5] wait until
    /// c[0] has written the barrier file (60 s at most): they end after c[0] ran only when
    /// c[0] did not wait for all of a. a[4] then fails.
    static let pipeline = """
        local log = Parameter("log")

        local function mark(path, line)
          local f = assert(io.open(path, "a"))
          f:write(line, "\\n")
          f:close()
        end

        local function exists(path)
          local f = io.open(path)
          if f then f:close() end
          return f ~= nil
        end

        local function stage(name, body)
          return task(name, function(x, path)
            mark(path, "start " .. name .. " " .. x)
            local y = body(x, path)
            mark(path, "end " .. name .. " " .. x)
            return y
          end)
        end

        local a = stage("a", function(x, path)
          for _ = 1, 600 do
            if x == 0 or exists(path .. ".barrier") then break end
            dk.time.sleep(0.1)
          end
          if x == 4 then error("a fails at 4") end
          return x
        end)
        local b = stage("b", function(x) return x * 10 end)
        local c = stage("c", function(x, path)
          -- Logged before the barrier exists: a[1...5] can end only after this line.
          if x == 0 then
            mark(path, "c 0 opens the barrier")
            mark(path .. ".barrier", "c[0] ran")
          end
          return x + 1
        end)
        local total = task("total", { trigger = dk.triggers.all_finished }, function(ys, path)
          mark(path, "start total")
          local out = {}
          for i = 1, 6 do out[i] = tostring(ys[i]) end
          return table.concat(out, ",")
        end)

        local flow = Flow("depth_first", function()
          local path = dk.unmapped(log)
          total(c:map(b:map(a:map({ 0, 1, 2, 3, 4, 5 }, path), path), path), log)
        end)
        """

    /// Runs the pipeline (`executor` nil: the flow's own, set in `extra`) and returns its
    /// outcomes and log lines.
    static func run(executor: String?, extra: String = "", barrierFirst: Bool = false) throws -> (outcomes: [String: String], lines: [String]) {
        let dir = try TempDir(["pipeline.lua": pipeline + "\n" + extra + "\nreturn flow\n"])
        if barrierFirst { try "".write(toFile: dir.file("log.barrier"), atomically: true, encoding: .utf8) }
        let r = try CLI.run(["pipeline.lua", "--param", "log=" + dir.file("log"), "--json-events"]
            + (executor.map { ["--executor", $0] } ?? []), in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")  // the reduce, the one reference task, succeeds
        let log = try String(contentsOfFile: dir.file("log"), encoding: .utf8)
        // The log parameter's value, a path of this run, aside.
        return (try DaskTests.outcomes(r.stdout).filter { $0.key != "log" }, log.split(separator: "\n").map(String.init))
    }

    /// What every executor ends with: a failed child's dependents are TriggerFailed, the others
    /// go on, and the reduce sees every child in order.
    static func checkOutcomes(_ outcomes: [String: String]) {
        #expect(outcomes["a[4]"]?.hasPrefix("Failed") == true, "\(outcomes)")
        #expect(outcomes["b[4]"]?.hasPrefix("TriggerFailed") == true)
        #expect(outcomes["c[4]"]?.hasPrefix("TriggerFailed") == true)
        for i in [0, 1, 2, 3, 5] {
            #expect(outcomes["c[\(i)]"]?.hasPrefix("Success \(i * 10 + 1) ") == true, "\(outcomes)")
        }
        #expect(outcomes["total"]?.hasPrefix(#"Success "1,11,21,31,nil,51" "#) == true, "\(outcomes)")
    }

    /// The order of a depth-first run: c[0] ran before a's other children ended, and the
    /// reduce started after every child of c.
    static func checkDepthFirst(_ lines: [String]) {
        let cRan = lines.firstIndex(of: "c 0 opens the barrier") ?? .max
        #expect(lines.firstIndex(of: "start b 0")! < lines.firstIndex(of: "end a 5") ?? -1, "\(lines)")
        for i in [1, 2, 3, 5] { #expect(cRan < lines.firstIndex(of: "end a \(i)") ?? -1, "\(lines)") }
        let lastC = [0, 10, 20, 30, 50].map { lines.firstIndex(of: "end c \($0)") ?? .max }.max()!
        #expect(lastC < lines.firstIndex(of: "start total") ?? -1, "\(lines)")
    }

    @Test func threadsRunAMappedPipelineDepthFirst() throws {
        let threads = try Self.run(executor: "threads=6")
        Self.checkDepthFirst(threads.lines)
        Self.checkOutcomes(threads.outcomes)
        // The same states and results as the local executor's run.
        let local = try Self.run(executor: "local", barrierFirst: true)
        #expect(threads.outcomes == local.outcomes)
    }

    /// As Prefect 1's LocalExecutor, which runs each task run when it is submitted: all of a,
    /// then all of b, then all of c.
    @Test func theLocalExecutorRunsItBreadthFirst() throws {
        let local = try Self.run(executor: "local", barrierFirst: true)
        Self.checkOutcomes(local.outcomes)
        let stages = local.lines.filter { $0.hasPrefix("start ") && $0 != "start total" }.map { $0.split(separator: " ")[1] }
        #expect(stages == ["a", "a", "a", "a", "a", "a", "b", "b", "b", "b", "b", "c", "c", "c", "c", "c"], "\(local.lines)")
    }

    @Test func daskRunsAMappedPipelineDepthFirst() throws {
        // One worker process with a thread for each of a's children and one more.
        let dask = try Self.run(executor: nil, extra: "flow.executor = DaskExecutor { cluster_kwargs = { n_workers = 1, threads_per_worker = 6 } }")
        Self.checkDepthFirst(dask.lines)
        Self.checkOutcomes(dask.outcomes)
    }
}
