import DKCore
import DKTestSupport
import Foundation
import Testing

/// Results kept on Kubernetes (docs/results.md), on the test cluster: a flow whose result
/// location is an S3 server in the cluster's network (`KubesimCluster.s3Server`), run twice,
/// each run on pods of its own. Tasks are counted by a file each appends to (kubesim's pods
/// are processes of this machine), not by their logs.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubeResultsTests {
    /// The credentials the run takes along as dkrun secrets (docs/kubernetes.md), for moto,
    /// which takes any.
    static let secrets = ["DKRUN_SECRET_AWS_ACCESS_KEY_ID": "testing", "DKRUN_SECRET_AWS_SECRET_ACCESS_KEY": "testing"]

    /// A flow with a checkpointed mapped task, a task with a target and a cached one, each
    /// appending a line to `counter`, with the S3 location and `placement`: Flow fields (Lua)
    /// that may use the locals `secrets` (the credentials' names) and `proxies`, proxy
    /// variables naming a proxy that is not there, which loopback addresses (the S3 server,
    /// the API server) bypass.
    static func flow(_ c: KubesimCluster, _ s3: S3TestServer, placement: String, counter: String) throws -> String {
        let path = c.dir.file("results.lua")
        try """
            local function count(what)
              local f = io.open("\(counter)", "a"); f:write(what .. "\\n"); f:close()
            end
            local work = task("work", { checkpoint = true }, function(x) count("work " .. x) return x * 10 end)
            local kept = task("kept", { target = "{flow_name}/{task_name}" }, function() count("kept") return { answer = 42 } end)
            local cached = task("cached", { cache_for = 3600 }, function() count("cached") return "fresh" end)
            local show = task("show", function(xs, k, c)
              print("sum " .. (xs[1] + xs[2] + xs[3]) .. ", answer " .. k.answer .. ", " .. c)
            end)
            local secrets = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" }
            local dead = "http://127.0.0.1:9"
            local proxies = { http_proxy = dead, HTTPS_PROXY = dead, ALL_PROXY = dead }
            return Flow("KubeResults", {
              result = dk.results.S3{ bucket = "\(s3.bucket)", prefix = "runs/", endpoint = "\(s3.endpoint)" },
              \(placement)
            }, function()
              show(work:map({ 1, 2, 3 }), kept(), cached())
            end)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The last state event of each task run ("work[1]", "kept", ...) in `--json-events` output.
    static func finalStates(_ r: CLI.Result) throws -> [String: [String: Any]] {
        var last: [String: [String: Any]] = [:]
        for e in try events(r.stdout) where e["event"] as? String == "task_state" {
            guard let task = e["task"] as? String else { continue }
            last[(e["map_index"] as? Int).map { "\(task)[\($0)]" } ?? task] = e
        }
        return last
    }

    /// On DaskKubernetesEnvironment the tasks run on worker pods; on KubernetesRun alone, in the Job's pod.
    @Test(arguments: ["environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 2, secrets = secrets },\n"
                        + "run_config = KubernetesRun { env = proxies },",
                      "run_config = KubernetesRun { env = proxies, secrets = secrets },"])
    func checkpointsTargetsAndCachesAreSharedByThePodsOfEveryRun(placement: String) throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let s3 = try c.s3Server()
        defer { s3.stop() }
        let counter = c.dir.file("counter")
        let path = try Self.flow(c, s3, placement: placement, counter: counter)
        func counted() -> [String] {
            ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).sorted()
        }

        let first = try c.exec([CLI.binary, path, "--json-events"], environment: Self.secrets, timeout: 180)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("sum 60, answer 42, fresh"), "\(first.stdout)")
        #expect(counted() == ["cached", "kept", "work 1", "work 2", "work 3"])
        let states = try Self.finalStates(first)
        #expect(["work[0]", "work[1]", "work[2]", "kept"].map { states[$0]?["state"] as? String } == Array(repeating: "Success", count: 4),
                "\(states)")
        #expect(states["cached"]?["state"] as? String == "Cached")  // as in Prefect 1, after it ran

        // What the pods stored, read back with boto3: each checkpoint under its identity, the target, the cache entry.
        let checkpoints = try s3.keys("runs/tasks/")
        let stored = try checkpoints.map { key in try StoredResult(bytes: try #require(try s3.object(key))) }
        #expect(stored.map(\.value).sorted { ($0.intValue ?? 0) < ($1.intValue ?? 0) } == [10, 20, 30], "\(checkpoints)")
        #expect(stored.allSatisfy { $0.task == "work" && $0.flow == "KubeResults" })
        #expect(Set(stored.compactMap(\.mapIndex)) == [0, 1, 2])
        #expect(zip(checkpoints, stored).allSatisfy { $0.0 == "runs/tasks/" + $0.1.identity })
        let target = try StoredResult(bytes: try #require(try s3.object("runs/KubeResults/kept")))
        #expect(target.value == ["answer": 42])
        let cacheEntries = try s3.keys("runs/cache/")
        #expect(cacheEntries.count == 1)
        #expect(try cacheEntries.first.flatMap { try s3.object($0) }.map { try StoredResult(bytes: $0).value } == "fresh")
        c.expectNothingLeft()

        // Another run, on new pods: the target and the cache hold, the checkpointed task runs again.
        let second = try c.exec([CLI.binary, path, "--json-events"], environment: Self.secrets, timeout: 180)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("sum 60, answer 42, fresh"), "\(second.stdout)")
        #expect(counted() == ["cached", "kept", "work 1", "work 1", "work 2", "work 2", "work 3", "work 3"])
        let again = try Self.finalStates(second)
        #expect(again["kept"]?["state"] as? String == "Cached" && again["cached"]?["state"] as? String == "Cached", "\(again)")
        #expect((again["kept"]?["message"] as? String)?.contains("Result found at task target") == true, "\(again)")
        if placement.hasPrefix("environment = Dask") {
            // On a worker pod of each run (Dask names a worker by its address, the pod's IP): not the same pod.
            let workers = [states["cached"]?["worker"] as? String, again["cached"]?["worker"] as? String]
            let ips = workers.map { $0?.firstMatch(of: #/^tcp://(127\.10\.[0-9.]+):/#).map { String($0.1) } }
            #expect(ips.allSatisfy { $0 != nil } && ips[0] != ips[1], "\(workers)")
        }
        c.expectNothingLeft()
    }

    /// A chain of five tasks on worker pods whose third fails while a flag file exists: fixed
    /// (the flag removed) and resumed, the first two end Cached from what the pods kept in S3
    /// and do not run again, the last three run (counted by their side effects).
    @Test func aFailedRunIsResumedOnNewPodsFromTheSharedLocation() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let s3 = try c.s3Server()
        defer { s3.stop() }
        let counter = c.dir.file("counter")
        let flag = c.dir.file("broken")
        try "".write(toFile: flag, atomically: true, encoding: .utf8)
        let path = c.dir.file("chain.lua")
        try """
            local function count(what)
              local f = io.open("\(counter)", "a"); f:write(what .. "\\n"); f:close()
            end
            local function step(n)
              return task("step" .. n, function(x)
                count("step" .. n)
                if n == 3 and io.open("\(flag)") then error("step 3 is broken") end
                return x + n
              end)
            end
            local steps = { step(1), step(2), step(3), step(4), step(5) }
            return Flow("KubeResume", {
              result = dk.results.S3{ bucket = "\(s3.bucket)", prefix = "runs/", endpoint = "\(s3.endpoint)" },
              environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 1,
                                                        secrets = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" } },
            }, function()
              local x = 0
              for _, s in ipairs(steps) do x = s(x) end
            end)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        func counted() -> [String] {
            ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        let failed = try c.exec([CLI.binary, path, "--json-events"], environment: Self.secrets, timeout: 180)
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        #expect(counted() == ["step1", "step2", "step3"])
        c.expectNothingLeft()

        try FileManager.default.removeItem(atPath: flag)
        let resumed = try c.exec([CLI.binary, path, "--resume", "--json-events"], environment: Self.secrets, timeout: 180)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(counted() == ["step1", "step2", "step3", "step3", "step4", "step5"])
        let states = try Self.finalStates(resumed)
        #expect((1...5).map { states["step\($0)"]?["state"] as? String } == ["Cached", "Cached", "Success", "Success", "Success"],
                "\(states)")
        #expect(states["step5"]?["result"] as? Int == 15)
        c.expectNothingLeft()
    }

    /// Refused at the real submit as in `--dry-run` (ResultsTests): nothing is made on the cluster.
    @Test func aRunKeepingResultsOnItsPodsDisksIsRefusedBeforeAnythingIsMade() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let path = c.dir.file("local.lua")
        try """
            local work = task("work", { checkpoint = true }, function() return 1 end)
            return Flow("PodLocal", { environment = DaskKubernetesEnvironment {} }, function() work() end)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try c.exec([CLI.binary, path])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        // The task is named where the flow calls it.
        #expect(r.stderr.contains("flow 'PodLocal': task 'work' (\(path):2) keeps its result (checkpoint or target)"), "\(r.stderr)")
        #expect(r.stderr.contains("give the flow (or the task) a result location every pod can reach, result = dk.results.S3{ bucket = ... }"))
        let left = try c.exec(["kubectl", "get", "pods,jobs,configmaps,secrets", "-l", KubesimCluster.runSelector, "-o", "name"])
        #expect(left.status == 0 && left.stdout.isEmpty, "\(left.stdout)\(left.stderr)")
    }
}
