import DKCore
import DKTestSupport
import Foundation
import Testing

/// Flow runs on Kubernetes end to end, on the test cluster: `dkrun FLOW.lua` makes the
/// payload's ConfigMap and the Job, the Job's pod (a real dkrun) makes a Dask cluster of
/// pods (real `dask scheduler` and `dask worker` processes), runs the flow on it, scales it
/// and deletes it; the user's dkrun follows and reports. Every test ends with no pod left.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubeFlowRunTests {
    /// Polls until `condition` holds (true) or `timeout` seconds pass (false).
    func eventually(_ timeout: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.3)
        }
        return true
    }

    func write(_ c: KubesimCluster, _ name: String, _ text: String) throws -> String {
        let path = c.dir.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theSeedExamplesRunOnAClusterMadeForTheRun() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let hooks = try write(c, "hooks.lua", """
            local hello = task("hello", function() return 1 end)
            return Flow("Hooks", { environment = DaskKubernetesEnvironment {
              scheduler_logs = true,
              on_start = function() print("starting the run") end,
              on_exit = function() print("the run is over") end } }, function() hello() end)
            """)
        let r = try c.exec([CLI.binary, hooks])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for line in ["INFO    starting the run", "INFO    the run is over", "INFO    [scheduler] "] {
            #expect(r.stdout.contains(line), "\(line) not in \(r.stdout)")
        }
        for (example, output) in [("min_max_workers", "output_value | Example!"),
                                  ("kube_cluster_executor", "output_value | Example!"),
                                  ("dask_on_kubernetes", "report | sum of squares: 30")] {
            let r = try c.exec([CLI.binary, CLI.repoRoot + "/examples/\(example).lua"])
            #expect(r.status == 0, "\(example): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains(output), "\(example): \(r.stdout)")
            #expect(r.stdout.contains("Dask scheduler pod dkrun-") && r.stdout.contains("worker pod dask-root-"), "\(r.stdout)")
            #expect(r.stdout.contains("nothing of it is left on the cluster"), "\(r.stdout)")
            c.expectNothingLeft()
        }
    }

    @Test func aCustomWorkerSpecGivesTwoWorkersWithItsLabelsEnvAndArgs() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let submitted = try c.exec([CLI.binary, CLI.repoRoot + "/examples/custom_worker_spec.lua", "--detach"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let run = try #require(submitted.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst(2).first)
            .dropLast()  // "flow run <id>: Job ..."
        let workers = "dkrun.io/component=worker,foo=bar"
        #expect(eventually { c.pods(workers).count == 2 }, "\(c.pods(workers))")
        let name = try #require(c.pods(workers).first)
        let pod = try JSONSerialization.jsonObject(with: Data(c.kubectl(["get", "pod", name, "-o", "json"]).utf8)) as! [String: Any]
        let spec = pod["spec"] as! [String: Any]
        let container = (spec["containers"] as! [[String: Any]])[0]
        let args = container["args"] as! [String]
        #expect(args.starts(with: ["dask", "worker", "--nthreads", "2"]) && args.contains("--death-timeout"), "\(args)")
        let env = (container["env"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(env.contains("EXTRA_PIP_PACKAGES") && env.contains("DASK_SCHEDULER_ADDRESS"), "\(env)")
        #expect(spec["restartPolicy"] as? String == "Never")
        #expect((spec["tolerations"] as! [[String: Any]]).map { $0["key"] as! String } == ["k8s.dask.org/dedicated", "k8s.dask.org_dedicated"])
        let owners = (pod["metadata"] as! [String: Any])["ownerReferences"] as! [[String: Any]]
        #expect(owners.map { $0["kind"] as! String } == ["Job"])

        let logs = try c.exec([CLI.binary, "k8s", "logs", String(run), "--follow"])
        #expect(logs.status == 0, "\(logs.stdout)\(logs.stderr)")
        #expect(logs.stdout.contains("output_value | Example!"), "\(logs.stdout)")
        let cleaned = try c.exec([CLI.binary, "k8s", "cleanup", String(run)])
        #expect(cleaned.status == 0 && cleaned.stdout.contains("deleted jobs/dkrun-"), "\(cleaned.stdout)\(cleaned.stderr)")
        c.expectNothingLeft()
    }

    /// dask_kubernetes.operator.KubeCluster's arguments: two workers named after the cluster,
    /// running the operator's worker command (named by DASK_WORKER_NAME), whose tasks see
    /// the cluster's env.
    @Test func theOperatorsKubeClusterArgumentsMakeTheRunsCluster() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "operator.lua", """
            local where = task("where", function() return os.getenv("STAGE") .. " on " .. os.getenv("DASK_WORKER_NAME") end)
            local show = task("show", function(w) print(w) end)
            local flow = Flow("Operator", function() show(where()) end)
            flow.run_config = KubernetesRun {}
            flow.executor = DaskExecutor {
              cluster_class = "dask_kubernetes.operator.KubeCluster",
              cluster_kwargs = { name = "etl", n_workers = 2, env = { STAGE = "prod" }, worker_command = "dask-worker --nthreads 1" },
            }
            return flow
            """)
        let r = try c.exec([CLI.binary, flow])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("show | prod on etl-default-worker-"), "\(r.stdout)")
        #expect(r.stdout.components(separatedBy: "worker pod etl-default-worker-").count - 1 >= 2, "\(r.stdout)")
        c.expectNothingLeft()
    }

    @Test func aFlowOnAStaticClusterRunsAsAJob() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        #expect(try c.applyStaticCluster(workers: 1).status == 0)
        let r = try c.exec([CLI.binary, CLI.repoRoot + "/examples/static_cluster.lua"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("output_value | Example!") && r.stdout.contains("DaskExecutor(tcp://dask-scheduler:8786)"), "\(r.stdout)")
        c.expectNothingLeft()
    }

    /// 40 one-second tasks between 1 and 3 workers: the cluster grows to 3 while they run and
    /// shrinks back to 1 while the last, long task runs alone.
    @Test func workersScaleUpToTheMaximumAndBackToTheMinimum() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "scale.lua", KubesimCluster.scalingFlow(items: 40, totalSleep: 8))
        try c.expectWorkersScaleToThreeAndBack(runningScalingFlowAt: flow, items: 40)
        c.expectNothingLeft()
    }

    /// Four mapped tasks that need a GPU grow the gpu group from 0 to its maximum, 2, and it
    /// goes back to 0 once they are done, while a long plain task still runs on the default
    /// group's one worker, which stays alone (the gpu tasks need no default worker). Counts are the pods kubectl lists by their
    /// group's label, in the order seen. Prints how long after its first task was ready
    /// (`numbers` done) a gpu worker was running, from the run's log.
    @Test func aWorkerGroupGrowsFromZeroForTheTasksThatNeedItAndShrinksBack() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        // The Job's pod runs this tree's Dask driver (pods get no PYTHONPATH of the host's).
        let flow = try write(c, "groups.lua", """
            local time = require("dk.time")
            local numbers = task("numbers", function() time.sleep(1) return { 1, 2, 3, 4 } end)
            -- The mapped task's parent runs before slow on the default worker's one thread.
            local train = task("train", { resources = { GPU = 1 }, priority = 10 }, function(n) time.sleep(2) return n * 10 end)
            local total = task("total", function(xs)
              local s = 0
              for _, x in ipairs(xs) do s = s + x end
              print("total " .. s)
            end)
            local slow = task("slow", { priority = -10 }, function(xs) time.sleep(25) end)
            return Flow("Groups", {
              environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 1,
                worker_groups = { gpu = { min_workers = 0, max_workers = 2, resources = { GPU = 1 } } } },
              run_config = KubernetesRun { env = { PYTHONPATH = "\(CLI.repoRoot)/python" } },
            }, function()
              local xs = numbers()
              total(train:map(xs))
              slow(xs)
            end)
            """)
        let process = try c.startDkrun([flow])
        var gpu: [Int] = [], plain: [Int] = []
        while process.isRunning {
            gpu.append(c.pods("dkrun.io/worker-group=gpu").count)
            plain.append(c.pods("dkrun.io/worker-group=default").count)
            Thread.sleep(forTimeInterval: 0.5)
        }
        let r = CLI.finish(process)
        print("gpu worker pods every 0.5 s: \(gpu.map(String.init).joined(separator: " "))")
        print("default worker pods every 0.5 s: \(plain.map(String.init).joined(separator: " "))")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("total | total 100"), "\(r.stdout)")
        let peak = try #require(gpu.firstIndex(of: 2), "the gpu group never had 2 workers: \(gpu)")
        #expect(gpu[..<peak].contains(0) && gpu[peak...].contains(0), "not 0, 2, then 0 again: \(gpu)")
        #expect(gpu.allSatisfy { $0 <= 2 }, "\(gpu)")
        // The default group's one worker, from its first sighting to the cluster's deletion.
        let shown = plain.drop { $0 == 0 }.prefix { $0 != 0 }
        #expect(!shown.isEmpty && shown.allSatisfy { $0 == 1 } && plain.allSatisfy { $0 <= 1 }, "\(plain)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasSuffix("wanted for the tasks that need its resources: scaling up to 2") }, "\(r.stdout)")
        #expect(lines.contains { $0.contains("worker group gpu: 0 worker(s) wanted") && $0.hasSuffix("retiring 1") }
                || lines.contains { $0.hasSuffix("retiring 2") }, "\(r.stdout)")
        // The figure: `numbers` done (the gpu tasks ready) to the first gpu pod running.
        let gpuPods = lines.filter { $0.hasSuffix("in group gpu)") }.compactMap { $0.split(separator: " ").dropFirst(4).first }
        func time(_ line: String?) -> Double? {
            guard let clock = line?.split(separator: " ").first else { return nil }
            let parts = clock.split(separator: ":").compactMap { Double($0) }
            return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : nil
        }
        if let ready = time(lines.first { $0.contains("numbers: Success") }),
           let running = time(lines.first { line in gpuPods.contains { line.contains("worker pod \($0) running at") } }) {
            print(String(format: "figure: a gpu worker pod running %.2f s after its first task was ready (kubesim)", running - ready))
        }
        c.expectNothingLeft()
    }

    @Test func nothingIsLeftAfterAFailureCtrlCOrTheFlowsPodKilled() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let failing = try write(c, "failing.lua", """
            local boom = task("boom", function() error("no luck") end)
            return Flow("Failing", { environment = DaskKubernetesEnvironment {} }, function() boom() end)
            """)
        let failed = try c.exec([CLI.binary, failing])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        #expect(failed.stdout.contains("boom: Failed") && failed.stdout.contains("no luck"), "\(failed.stdout)")
        c.expectNothingLeft()

        let slow = try write(c, "slow.lua", """
            local time = require("dk.time")
            local nap = task("nap", function(n) time.sleep(30) end)
            return Flow("Slow", { environment = DaskKubernetesEnvironment { min_workers = 2, max_workers = 2 } }, function()
              nap:map({ 1, 2 })
            end)
            """)
        for ending in ["ctrl-c", "sigkill"] {
            let process = try c.startDkrun([slow])
            #expect(eventually {
                c.kubectl(["get", "pods", "-l", "dkrun.io/component=worker", "-o", "jsonpath={.items[*].status.phase}"]) == "Running Running"
            })
            Thread.sleep(forTimeInterval: 2)  // the tasks are running
            if ending == "ctrl-c" {
                process.interrupt()
            } else {
                #expect(try c.killPodProcesses(matching: "k8s flow-run") > 0)
            }
            let r = CLI.finish(process)
            #expect(r.status == (ending == "ctrl-c" ? 130 : 1), "\(ending): \(r.stdout)\(r.stderr)")
            if ending == "sigkill" {
                #expect(r.stdout.contains("was killed by signal 9"), "\(r.stdout)")
            }
            c.expectNothingLeft()
        }
    }

    @Test func aPrivateRegistrySecretIsMadeAndNamedByEveryPod() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "private.lua", """
            local hello = task("hello", function() print("from a private image") end)
            return Flow("Private", { environment = DaskKubernetesEnvironment { private_registry = true } }, function() hello() end)
            """)
        let credentials = #"{"docker-server": "registry.example.com", "docker-username": "flows", "docker-password": "s3cret", "docker-email": "flows@example.com"}"#
        let process = try c.startDkrun([flow, "--detach"], environment: ["DKRUN_SECRET_DOCKER_REGISTRY_CREDENTIALS": credentials])
        let submitted = CLI.finish(process)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let encoded = c.kubectl(["get", "secret", "docker-registry-credentials", "-o", "jsonpath={.data.\\.dockerconfigjson}"])
        let config = try #require(Data(base64Encoded: encoded).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any])
        let auth = (config["auths"] as! [String: Any])["registry.example.com"] as! [String: String]
        #expect(auth["username"] == "flows" && auth["password"] == "s3cret" && auth["email"] == "flows@example.com")
        #expect(auth["auth"] == Data("flows:s3cret".utf8).base64EncodedString())
        #expect(c.kubectl(["get", "secret", "docker-registry-credentials", "-o", "jsonpath={.type}"]) == "kubernetes.io/dockerconfigjson")
        #expect(eventually { !c.pods("dkrun.io/component=worker").isEmpty })
        let named = c.kubectl(["get", "pods", "-l", KubesimCluster.runSelector, "-o",
                               "jsonpath={range .items[*]}{.metadata.labels.dkrun\\.io/component}={.spec.imagePullSecrets[*].name} {end}"])
        for component in ["job", "scheduler", "worker"] {
            #expect(named.contains("\(component)=docker-registry-credentials"), "\(named)")
        }
        let run = c.kubectl(["get", "jobs", "-l", KubesimCluster.runSelector, "-o", "jsonpath={.items[0].metadata.labels.dkrun\\.io/flow-run}"])
        let logs = try c.exec([CLI.binary, "k8s", "logs", run, "--follow"])
        #expect(logs.stdout.contains("hello | from a private image"), "\(logs.stdout)")
        #expect(try c.exec([CLI.binary, "k8s", "cleanup", "--all"]).status == 0)
        c.expectNothingLeft()
    }

    /// The dkrun secrets a flow names go with its run: a Secret owned by the Job, mounted
    /// where dk.secrets looks on the Job's, the scheduler's and the workers' pods, never in
    /// the payload's ConfigMap; what the pods print is masked by the pod and by the follower.
    @Test func theSecretsAFlowNamesAreMountedOnEveryPodOfItsRun() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let value = "kube-s3cret-" + UUID().uuidString.prefix(8)
        let flow = try write(c, "secrets.lua", """
            local pw = dk.secrets.get("kube_db_password")
            local check = task("check", function(given)
              local mounted = dk.fs.read("/var/run/secrets/dkrun/kube_db_password")
              print("on " .. os.getenv("HOSTNAME") .. ": " .. mounted)
              return given == dk.secrets.get("kube_db_password") and given == mounted
            end)
            return Flow("Secrets", { environment = DaskKubernetesEnvironment {
              secrets = { "kube_db_password" },
              on_start = function() os.execute("cat /var/run/secrets/dkrun/kube_db_password; echo") end,
            } }, function() check(pw) end)
            """)
        let process = try c.startDkrun([flow, "--detach"], environment: ["DKRUN_SECRET_KUBE_DB_PASSWORD": value])
        let submitted = CLI.finish(process)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let run = c.kubectl(["get", "jobs", "-l", KubesimCluster.runSelector, "-o", "jsonpath={.items[0].metadata.labels.dkrun\\.io/flow-run}"])
        let short = String(run.filter { $0 != "-" }.prefix(10))  // object names' run id
        let secret = "dkrun-\(short)-secrets"
        let encoded = c.kubectl(["get", "secret", secret, "-o", "jsonpath={.data.kube_db_password}"])
        #expect(Data(base64Encoded: encoded) == Data(value.utf8), "\(encoded)")
        #expect(c.kubectl(["get", "secret", secret, "-o", "jsonpath={.metadata.ownerReferences[*].kind}"]) == "Job")
        let payload = c.kubectl(["get", "configmap", "dkrun-\(short)-payload", "-o", "jsonpath={.binaryData.payload\\.msgpack}"])
        let bytes = try #require(Data(base64Encoded: payload))
        #expect(bytes.range(of: Data(value.utf8)) == nil && bytes.range(of: Data("kube_db_password".utf8)) != nil)
        #expect(eventually { !c.pods("dkrun.io/component=worker").isEmpty })
        let mounted = c.kubectl(["get", "pods", "-l", KubesimCluster.runSelector, "-o", "jsonpath={range .items[*]}"
            + "{.metadata.labels.dkrun\\.io/component}={.spec.volumes[?(@.name==\"dkrun-secrets\")].secret.secretName} {end}"])
        for component in ["job", "scheduler", "worker"] {
            #expect(mounted.contains("\(component)=\(secret)"), "\(mounted)")
        }

        // Followed from a process that never read the secret: the pod masked its events, and
        // the follower masks the rest with the run's Secret.
        let logs = try c.exec([CLI.binary, "k8s", "logs", run, "--follow", "--json-events"])
        #expect(logs.status == 0, "\(logs.stdout)\(logs.stderr)")
        #expect(!logs.stdout.contains(value) && !logs.stderr.contains(value), "\(logs.stdout)")
        let all = try events(logs.stdout)
        let messages = all.compactMap { $0["message"] as? String }
        #expect(messages.contains("[pod] ****"), "\(messages)")
        #expect(messages.contains { $0.hasPrefix("on dask-root-") && $0.hasSuffix(": ****") }, "\(messages)")
        let check = all.first { $0["task"] as? String == "check" && $0["state"] as? String == "Success" }
        #expect(check?["result"] as? Bool == true, "\(logs.stdout)")
        #expect(try c.exec([CLI.binary, "k8s", "cleanup", "--all"]).status == 0)
        c.expectNothingLeft()
    }

    @Test func podsThatCannotStartFailTheRunWithTheirEvents() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let unpullable = try write(c, "unpullable.yaml", """
            kind: Pod
            spec:
              containers:
              - name: dask-worker
                image: kubesim.invalid/no-such-image:1
                args: [dask-worker, --nthreads, "1", --no-bokeh]
            """)
        let huge = try write(c, "huge.yaml", """
            kind: Pod
            spec:
              containers:
              - name: dask-worker
                args: [dask, worker, --nthreads, "1000"]
                resources: {requests: {cpu: "1000"}, limits: {cpu: "1000"}}
            """)
        let noScheduler = try write(c, "scheduler.yaml", """
            kind: Pod
            spec:
              containers: [{name: dask-scheduler, image: "kubesim.invalid/scheduler:1", args: [dask-scheduler]}]
            """)
        let crashing = try write(c, "crashing.yaml", """
            kind: Pod
            spec:
              containers: [{name: dask-worker, args: [python3, -c, "import sys; sys.exit('no worker today: bad configuration')"]}]
            """)
        for (field, spec, expected) in [("worker_spec_file", unpullable, "worker pod dask-root-[^ ]* cannot start: ImagePullBackOff"),
                                        ("worker_spec_file", crashing,
                                         "worker pods keep ending before they join the scheduler \\(3 in a row\\)(.|\n)*no worker today: bad configuration"),
                                        ("worker_spec_file", huge, "worker pod dask-root-[^ ]* did not start within 5 s .*Insufficient cpu"),
                                        ("scheduler_spec_file", noScheduler, "the Dask scheduler pod dkrun-[^ ]* cannot start: ImagePullBackOff")] {
            let flow = try write(c, "fault.lua", """
                local hello = task("hello", function() return 1 end)
                return Flow("Fault", { environment = DaskKubernetesEnvironment {
                  \(field) = "\(spec)", startup_timeout = 5, log_k8s_errors = true } }, function() hello() end)
                """)
            let r = try c.exec([CLI.binary, flow])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            // The reason says the run gave up at once (a hopeless pod) or at startup_timeout, and
            // the task never ran.
            #expect(r.stdout.range(of: expected, options: .regularExpression) != nil, "\(r.stdout)")
            #expect(!r.stdout.contains("hello: Running"), "\(r.stdout)")
            #expect(r.stdout.contains("events of pod d"), "\(r.stdout)")
            if spec == huge {  // log_k8s_errors reported it while it waited
                #expect(r.stdout.contains("WARNING Kubernetes: pod dask-root-"), "\(r.stdout)")
            }
            c.expectNothingLeft()
        }
    }

    @Test func theRunRidesOutAPIErrorsAndALostWorker() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "steady.lua", """
            local time = require("dk.time")
            local work = task("work", function(n) time.sleep(2) return n end)
            local sum = task("sum", function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end print("sum " .. s) end)
            return Flow("Steady", { environment = DaskKubernetesEnvironment { min_workers = 2, max_workers = 2 } }, function()
              sum(work:map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }))
            end)
            """)
        let process = try c.startDkrun([flow])
        #expect(eventually { c.pods("dkrun.io/component=worker").count == 2 })
        Thread.sleep(forTimeInterval: 3)
        // The cluster's pod lists and creations fail for a while, then a worker pod is deleted mid-task.
        let victim = try #require(c.pods("dkrun.io/component=worker").first)
        try c.fail(method: "GET", path: "/api/v1/namespaces/default/pods", count: 6)
        try c.fail(method: "POST", path: "/api/v1/namespaces/default/pods", count: 2)
        #expect(try c.exec(["kubectl", "delete", "pod", victim, "--wait=false"]).status == 0)
        let r = CLI.finish(process)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("sum | sum 55"), "\(r.stdout)")
        #expect(r.stdout.contains("replacing"), "\(r.stdout)")
        c.expectNothingLeft()
    }

    @Test func aSchedulerLostMidRunEndsTheRunAtOnce() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let flow = try write(c, "long.lua", """
            local time = require("dk.time")
            local nap = task("nap", function() time.sleep(60) end)
            return Flow("Long", { environment = DaskKubernetesEnvironment {} }, function() nap() end)
            """)
        let process = try c.startDkrun([flow])
        #expect(eventually { c.kubectl(["get", "pods", "-l", "dkrun.io/component=worker", "-o", "jsonpath={.items[*].status.phase}"]) == "Running" })
        Thread.sleep(forTimeInterval: 2)
        #expect(try c.exec(["kubectl", "delete", "pod", "-l", "dkrun.io/component=scheduler", "--wait=false"]).status == 0)
        let r = CLI.finish(process)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        // The run ended before its 60 s task could: nap never finished, and the reason is the scheduler.
        #expect(!r.stdout.contains("nap: Success"), "\(r.stdout)")
        #expect(r.stdout.range(of: "\n  the Dask scheduler pod [a-z0-9-]+ (was deleted during the run|ended during the run \\(exit code -?[0-9]+\\))",
                               options: .regularExpression) != nil, "\(r.stdout)")
        c.expectNothingLeft()
    }

    /// The API server ends followed logs after a second (as a proxy's timeout would): dkrun
    /// follows again and shows every line once.
    @Test func aCutLogStreamIsFollowedAgain() throws {
        let c = try KubesimCluster(apiserver: ["--log-follow-seconds", "1"])
        defer { c.down() }
        let flow = try write(c, "chatty.lua", """
            local time = require("dk.time")
            local say = task("say", function(n) time.sleep(0.5) print("line " .. n) return n end)
            return Flow("Chatty", { environment = DaskKubernetesEnvironment {} }, function()
              say:map({ 1, 2, 3, 4, 5, 6, 7, 8 })
            end)
            """)
        let r = try c.exec([CLI.binary, flow])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for n in 1 ... 8 {
            #expect(r.stdout.components(separatedBy: "say[\(n - 1)] | line \(n)\n").count == 2, "line \(n): \(r.stdout)")
        }
        #expect(r.stdout.components(separatedBy: "Flow 'Chatty': Success").count == 2, "\(r.stdout)")
        c.expectNothingLeft()
    }

    @Test func aMissingPermissionIsNamed() throws {
        let c = try KubesimCluster(apiserver: ["--forbid", "create:services"])
        defer { c.down() }
        let r = try c.exec([CLI.binary, CLI.repoRoot + "/examples/min_max_workers.lua"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains(#"cannot create resource "services""#), "\(r.stdout)")
        c.expectNothingLeft()

        let denied = try KubesimCluster(apiserver: ["--forbid", "create:jobs"])
        defer { denied.down() }
        let submit = try denied.exec([CLI.binary, CLI.repoRoot + "/examples/min_max_workers.lua"])
        #expect(submit.status == 1)
        #expect(submit.stderr.contains(#"cannot create resource "jobs""#) && submit.stderr.contains("dkrun k8s rbac"), "\(submit.stderr)")
        denied.expectNothingLeft()
    }
}
