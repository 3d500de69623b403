import DKCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Flows on real Dask: `dask scheduler` and `dask worker` processes on 127.0.0.1 (or a
/// temporary LocalCluster the run starts), driven through the dkrun command.
@Suite struct DaskTests {
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
        #expect(refused.stderr.contains("DaskExecutor cluster_kwargs:") && refused.stderr.contains("n_wrokers"), "\(refused.stderr)")
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
}
