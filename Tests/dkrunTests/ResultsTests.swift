import DKCore
import DKTestSupport
import Foundation
import Testing

/// Checkpoints, targets and caches end to end (docs/results.md): flows run twice by the
/// dkrun command, their tasks counted by a file each run appends to, on every executor here.
@Suite(.timeLimit(.minutes(10))) struct ResultsTests {
    /// A flow whose task `work(x, y)` appends a line to `runs` and returns x * 10, with
    /// `options` (Lua fields) on the task and `flowOptions` on the flow; `x` and `y` are
    /// parameters.
    static func flow(_ dir: TempDir, task options: String, flow flowOptions: String = "") throws -> String {
        let path = dir.file("flow.lua")
        try """
            local x = Parameter("x", { default = 1 })
            local y = Parameter("y", { default = 1 })
            local work = task("work", { \(options) }, function(x, _)
              local f = io.open("\(dir.file("runs"))", "a"); f:write("ran\\n"); f:close()
              return x * 10
            end)
            local show = task("show", function(v) print("value " .. v) end)
            return Flow("results", { \(flowOptions) }, function() show(work(x, y)) end)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func runs(_ dir: TempDir) -> Int {
        ((try? String(contentsOfFile: dir.file("runs"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The final state of task `work` from `--json-events` output.
    static func workState(_ r: CLI.Result) throws -> String? {
        try events(r.stdout).last { $0["event"] as? String == "task_state" && $0["task"] as? String == "work" }?["state"] as? String
    }

    static let executors = ["local", "threads", "dask"]

    @Test(arguments: executors) func aTargetKeepsTheTaskFromRunningAgain(executor: String) throws {
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "target = \"{flow_name}/{task_name}-{x}\"",
                                 flow: "result = dk.results.Local{ dir = \"\(dir.file("store"))\" }")
        let first = try CLI.run([path, "--executor", executor, "--json-events"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.workState(first) == "Success")
        #expect(FileManager.default.fileExists(atPath: dir.file("store/results/work-1")))
        let second = try CLI.run([path, "--executor", executor, "--json-events"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try Self.workState(second) == "Cached")
        #expect(second.stdout.contains("value 10"))
        #expect(Self.runs(dir) == 1)
        // Another parameter is another target: the task runs.
        let third = try CLI.run([path, "--executor", executor, "--param", "x=2"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(Self.runs(dir) == 2)
    }

    @Test(arguments: executors) func mappedChildrenHaveTargetsOfTheirOwn(executor: String) throws {
        let dir = try TempDir()
        try """
            local work = task("work", { target = "{task_name}-{map_index}" }, function(x)
              local f = io.open("\(dir.file("runs"))", "a"); f:write("ran\\n"); f:close()
              return x * 10
            end)
            local sum = task("sum", function(xs)
              local s = 0
              for _, v in ipairs(xs) do s = s + v end
              print("sum " .. s)
            end)
            return Flow("mapped", { result = dk.results.Local{ dir = "\(dir.file("store"))" } }, function()
              sum(work:map({ 1, 2, 3 }))
            end)
            """.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let first = try CLI.run([dir.file("flow.lua"), "--executor", executor])
        #expect(first.status == 0, "\(first.stderr)")
        // `runs/`: what `sum` keeps for a resume of the run, in the flow's location (docs/results.md, Resume).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("store")).sorted() == ["runs", "work-0", "work-1", "work-2"])
        try FileManager.default.removeItem(atPath: dir.file("store/work-1"))
        let second = try CLI.run([dir.file("flow.lua"), "--executor", executor])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("sum 60"))
        #expect(Self.runs(dir) == 4)  // three, then the one whose target was removed
    }

    @Test func aCheckpointIsStoredUnderTheTasksIdentity() throws {
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "checkpoint = true, result = dk.results.Local{ dir = \"\(dir.file("store"))\" }")
        let r = try CLI.run([path])
        #expect(r.status == 0, "\(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("store/tasks"))
        #expect(names.count == 1)
        let stored = try StoredResult(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("store/tasks/" + names[0])))))
        #expect(stored.value == 10 && stored.task == "work" && stored.flow == "results" && stored.identity == names[0])
        // A checkpoint alone is written, never read: the task runs each time.
        _ = try CLI.run([path])
        #expect(Self.runs(dir) == 2)
    }

    /// Each validator, over runs with parameters (x, y): whether each run used the cache.
    @Test(arguments: [
        ("dk.cache.duration_only", [true, true, true]),
        ("dk.cache.all_inputs", [true, false, false]),
        ("dk.cache.all_parameters", [true, false, false]),
        ("dk.cache.partial_inputs_only{ \"x\" }", [true, true, false]),
        // y = 2 makes an entry of its own; y = 1's is still there.
        ("dk.cache.partial_parameters_only{ \"y\" }", [true, false, true]),
    ])
    func cacheValidators(validator: String, cached: [Bool]) throws {
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "cache_for = 3600, cache_validator = \(validator)",
                                 flow: "result = dk.results.Local{ dir = \"\(dir.file("store"))\" }")
        let first = try CLI.run([path, "--json-events"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.workState(first) == "Cached")  // as in Prefect 1: a cached task ends Cached
        // Same (x, y); y changed; x changed (and y back).
        for (params, expected) in zip([["x=1", "y=1"], ["x=1", "y=2"], ["x=2", "y=1"]], cached) {
            let before = Self.runs(dir)
            let r = try CLI.run([path, "--json-events"] + params.flatMap { ["--param", $0] })
            #expect(r.status == 0, "\(r.stderr)")
            #expect((Self.runs(dir) == before) == expected, "\(validator) with \(params)")
        }
    }

    @Test func anExpiredCacheEntryIsNotUsed() throws {
        let dir = try TempDir()
        // Expired by the time the second process looks (a millisecond after the first stored it).
        let path = try Self.flow(dir, task: "cache_for = 0.001", flow: "result = dk.results.Local{ dir = \"\(dir.file("store"))\" }")
        _ = try CLI.run([path])
        let r = try CLI.run([path, "--json-events"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.runs(dir) == 2)
    }

    @Test(arguments: ["garbage", ""]) func aCorruptStoredResultRerunsTheTaskWithAWarning(content: String) throws {
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "target = \"t\"", flow: "result = dk.results.Local{ dir = \"\(dir.file("store"))\" }")
        _ = try CLI.run([path])
        // Truncated: half of what was stored; or bytes that are not a result at all.
        let stored = try Data(contentsOf: URL(fileURLWithPath: dir.file("store/t")))
        try (content.isEmpty ? stored.prefix(stored.count / 2) : Data(content.utf8)).write(to: URL(fileURLWithPath: dir.file("store/t")))
        let r = try CLI.run([path, "--json-events"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("is unreadable"))
        #expect(try Self.workState(r) == "Success")
        #expect(Self.runs(dir) == 2)
        // It was replaced by a whole result: the next run uses it.
        _ = try CLI.run([path])
        #expect(Self.runs(dir) == 2)
    }

    @Test(arguments: ["local", "threads"]) func anUnwritableLocationFailsTheTaskNamingIt(executor: String) throws {
        let dir = try TempDir()
        try "not a directory".write(toFile: dir.file("file"), atomically: true, encoding: .utf8)
        let path = try Self.flow(dir, task: "checkpoint = true, result = dk.results.Local{ dir = \"\(dir.file("file"))\" }")
        let r = try CLI.run([path, "--executor", executor, "--json-events"])
        #expect(r.status == 1)
        #expect(try Self.workState(r) == "Failed")
        let message = try events(r.stdout).last { $0["task"] as? String == "work" && $0["state"] as? String == "Failed" }?["message"] as? String
        #expect(message?.contains("task 'work': cannot write its result") == true, "\(message ?? "")")
        #expect(message?.contains("Local{dir = \"\(dir.file("file"))\"}") == true)
    }

    /// Credentials from the AWS variables (local), or from dkrun's secrets (dask). The proxy
    /// variables name a proxy that is not there: the loopback endpoint bypasses them.
    @Test(arguments: ["local", "dask"]) func anS3TargetHoldsAcrossProcesses(executor: String) throws {
        let s3 = try S3TestServer()
        defer { s3.stop() }
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "target = \"{task_name}-{map_index}\"",
                                 flow: "result = dk.results.S3{ bucket = \"\(s3.bucket)\", prefix = \"runs/\", endpoint = \"\(s3.endpoint)\" }")
        let credentials = executor == "local" ? S3TestServer.environment
            : ["DKRUN_SECRET_AWS_ACCESS_KEY_ID": "testing", "DKRUN_SECRET_AWS_SECRET_ACCESS_KEY": "secret-key"]
        let proxies = ["http_proxy", "HTTPS_PROXY", "ALL_PROXY"].map { ($0, "http://127.0.0.1:9") }
        let environment = credentials.merging(proxies) { $1 }
        let first = try CLI.run([path, "--executor", executor], environment: environment)
        #expect(first.status == 0, "\(first.stderr)\(first.stdout)")
        let stored = try s3.object("runs/work-None").map(StoredResult.init(bytes:))
        #expect(stored?.value == 10)
        let second = try CLI.run([path, "--executor", executor, "--json-events"], environment: environment)
        #expect(try Self.workState(second) == "Cached")
        #expect(Self.runs(dir) == 1)
    }

    @Test func anS3LocationWithoutCredentialsFailsTheTaskSayingSo() throws {
        let dir = try TempDir()
        let path = try Self.flow(dir, task: "checkpoint = true, result = dk.results.S3{ bucket = \"b\", endpoint = \"http://127.0.0.1:9\" }")
        let r = try CLI.run([path, "--json-events"], environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        #expect(r.status == 1)
        let message = try events(r.stdout).last { $0["task"] as? String == "work" && $0["state"] as? String == "Failed" }?["message"] as? String
        #expect(message == "task 'work': result location s3://b/ at http://127.0.0.1:9: no AWS credentials: set the secrets or "
                + "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    }

    @Test func aKubernetesRunNeedsALocationEveryPodReaches() throws {
        let dir = try TempDir()
        let local = try Self.flow(dir, task: "target = \"t\"", flow: "run_config = KubernetesRun {}")
        let refused = try CLI.run([local, "--dry-run"], environment: ["KUBECONFIG": "/nonexistent/config"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("flow 'results': task 'work' (\(local):8) keeps its result (checkpoint or target) in "
            + "\(ResultLocation.local(dir: CLI.home + "/results")), which each Kubernetes pod has on its own disk"), "\(refused.stderr)")
        #expect(refused.stderr.contains("result = dk.results.S3{ bucket = ... }"))
        let s3 = try Self.flow(dir, task: "checkpoint = true",
                               flow: "run_config = KubernetesRun {}, result = dk.results.S3{ bucket = \"b\" }")
        let accepted = try CLI.run([s3, "--dry-run"], environment: ["KUBECONFIG": "/nonexistent/config"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
    }

    @Test func anUnreachableS3LocationFailsTheTask() throws {
        let dir = try TempDir()
        // Port 9 (discard) on loopback: nothing listens there.
        let path = try Self.flow(dir, task: "checkpoint = true, result = dk.results.S3{ bucket = \"b\", endpoint = \"http://127.0.0.1:9\" }")
        let r = try CLI.run([path, "--json-events"], environment: S3TestServer.environment)
        #expect(r.status == 1)
        let message = try events(r.stdout).last { $0["task"] as? String == "work" && $0["state"] as? String == "Failed" }?["message"] as? String
        #expect(message?.contains("s3://b/ at http://127.0.0.1:9") == true, "\(message ?? "")")
        #expect(try Self.workState(r) == "Failed")
        // The task ran; only its result was lost, and the task after it did not run.
        #expect(Self.runs(dir) == 1)
    }
}
