import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua --dry-run` (every object a Kubernetes run would make, valid Kubernetes),
/// `dkrun build` (the image's build context) and their bad inputs; no cluster needed.
@Suite(.timeLimit(.minutes(10))) struct KubeDryRunAndBuildTests {
    static let examples = ["min_max_workers", "custom_worker_spec", "static_cluster", "kube_cluster_executor", "dask_on_kubernetes"]

    @Test(arguments: examples)
    func dryRunsPrintValidObjectsAndMakeNone(example: String) throws {
        let r = try CLI.run(["examples/\(example).lua", "--dry-run"], environment: ["KUBECONFIG": "/nonexistent/config"])
        #expect(r.status == 0, "\(r.stderr)")
        let dir = try TempDir(["objects.yaml": r.stdout])
        for version in ["1.29", "1.33"] {
            let v = try Subprocess.run([venvBin + "kubernetes-validate", "-k", version, "--strict", dir.file("objects.yaml")])
            #expect(v.status == 0, "\(example) \(version): \(String(decoding: v.stdout + v.stderr, as: UTF8.self))")
        }
    }

    @Test func theDryRunShowsWhatPrecedenceDid() throws {
        let r = try CLI.run(["examples/custom_worker_spec.lua", "--dry-run"])
        #expect(r.stdout.contains("# the worker spec's replicas: 2 fixes the cluster at 2 workers"), "\(r.stdout)")
        #expect(r.stdout.contains("# image: gcr.io/dev/dask-k8s-flow:0.1.0"))
        let documents = r.stdout.components(separatedBy: "\n---\n").dropFirst()
        let workers = documents.filter { $0.contains("dask.org/component: worker") }
        #expect(workers.count == 2)
        for w in workers {
            #expect(w.contains("foo: bar") && w.contains("EXTRA_PIP_PACKAGES") && w.contains("DASK_SCHEDULER_ADDRESS"), "\(w)")
            #expect(!w.contains("replicas"), "\(w)")
            #expect(w.contains("kind: Job") && w.contains("uid: <the Job's uid>"), "\(w)")
        }
        #expect(documents.filter { $0.contains("\nkind: Pod\n") }.count == 3)  // the scheduler too
        let job = try CLI.run(["examples/custom_worker_spec.lua", "--dry-run", "--service-account", "dkrun"]).stdout
        #expect(job.contains("serviceAccountName: dkrun"))
    }

    /// The worker name template of a Dask config file names the worker pods, and a malformed
    /// config file is bad input naming it.
    @Test func theDryRunFollowsTheDaskConfigFiles() throws {
        let dir = try TempDir(["home/.config/dask/kubernetes.yaml": "kubernetes:\n  worker_name: cfg-{uuid}\n",
                               "bad.yaml": "kubernetes: {worker-name: [\n"])
        let dask = ["HOME": dir.file("home"), "DASK_ROOT_CONFIG": dir.file("etc")]
        let r = try CLI.run(["examples/min_max_workers.lua", "--dry-run"], environment: dask)
        #expect(r.status == 0, "\(r.stderr)")
        let workers = r.stdout.components(separatedBy: "\n---\n").filter { $0.contains("dask.org/component: worker") }
        #expect(!workers.isEmpty && workers.allSatisfy { $0.contains("\n  name: cfg-") }, "\(r.stdout)")
        #expect(r.stdout.contains("value: cfg-{uuid}"), "the Job's pod gets the template: \(r.stdout)")
        let bad = try CLI.run(["examples/min_max_workers.lua", "--dry-run"], environment: dask.merging(["DASK_CONFIG": dir.file("bad.yaml")]) { $1 })
        #expect(bad.status == 2 && bad.stderr.contains(dir.file("bad.yaml") + ":2:"), "\(bad.stderr)")
    }

    /// dask_kubernetes.operator.KubeCluster: its arguments, or a custom_cluster_spec file as
    /// make_cluster_spec writes it (nulls included), give valid pods with their image, env,
    /// resources and number; a malformed spec is bad input naming the file and the field.
    @Test func theOperatorsSpellingsGiveItsPods() throws {
        let flow = { (kwargs: String) in """
            local t = task("t", function() return 1 end)
            local f = Flow("Op", function() t() end)
            f.run_config = KubernetesRun {}
            f.executor = DaskExecutor { cluster_class = "dask_kubernetes.operator.KubeCluster", cluster_kwargs = \(kwargs) }
            return f
            """ }
        let spec = """
            apiVersion: kubernetes.dask.org/v1
            kind: DaskCluster
            metadata: {name: custom}
            spec:
              idleTimeout: 0
              worker:
                replicas: 3
                spec:
                  containers:
                  - name: worker
                    image: flows:2
                    args: [dask-worker, --name, $(DASK_WORKER_NAME), --dashboard, --dashboard-address, '8788']
                    env: [{name: STAGE, value: custom}]
                    resources: {limits: {cpu: '2'}}
              scheduler:
                spec:
                  containers:
                  - name: scheduler
                    image: flows:2
                    args: [dask-scheduler, --host, 0.0.0.0]
                    env: null
                    resources: null
                service:
                  type: ClusterIP
                  selector: {dask.org/cluster-name: custom, dask.org/component: scheduler}
                  ports: [{name: tcp-comm, protocol: TCP, port: 8786, targetPort: tcp-comm}]

            """
        let dir = try TempDir([
            "kwargs.lua": flow(#"{ name = "etl", n_workers = 2, image = "flows:1", env = { STAGE = "prod" }, "#
                + #"resources = { limits = { cpu = "1", memory = "2G" } }, scheduler_service_type = "NodePort" }"#),
            "custom.lua": flow(#"{ custom_cluster_spec = "cluster.yaml" }"#), "cluster.yaml": spec,
            "badyaml.lua": flow(#"{ custom_cluster_spec = "bad.yaml" }"#), "bad.yaml": "kind: DaskCluster\nspec: [\n",
            "badfield.lua": flow(#"{ custom_cluster_spec = "field.yaml" }"#),
            "field.yaml": spec.replacingOccurrences(of: "replicas: 3", with: "replicas: three"),
        ])
        for (file, image, stage, workers) in [("kwargs.lua", "flows:1", "prod", 2), ("custom.lua", "flows:2", "custom", 3)] {
            let r = try CLI.run([dir.file(file), "--dry-run"])
            #expect(r.status == 0, "\(file): \(r.stderr)")
            try r.stdout.write(toFile: dir.file("objects-\(file).yaml"), atomically: true, encoding: .utf8)
            for version in ["1.29", "1.33"] {
                let v = try Subprocess.run([venvBin + "kubernetes-validate", "-k", version, "--strict", dir.file("objects-\(file).yaml")])
                #expect(v.status == 0, "\(file) \(version): \(String(decoding: v.stdout + v.stderr, as: UTF8.self))")
            }
            let documents = r.stdout.components(separatedBy: "\n---\n")
            let pods = documents.filter { $0.contains("\nkind: Pod\n") }
            let workerPods = pods.filter { $0.contains("dask.org/component: worker") }
            #expect(pods.count == workers + 1 && workerPods.count == workers, "\(file): \(r.stdout)")
            for pod in pods { #expect(pod.contains("image: \(image)"), "\(file): \(pod)") }
            for w in workerPods {
                #expect(w.contains("- name: STAGE\n      value: \(stage)") && w.contains("- $(DASK_WORKER_NAME)")
                        && w.contains("- name: DASK_WORKER_NAME") && w.contains("limits:\n        cpu:"), "\(file): \(w)")
            }
        }
        let kwargs = try CLI.run([dir.file("kwargs.lua"), "--dry-run"]).stdout
        #expect(kwargs.contains("  type: NodePort") && kwargs.contains("\n  name: etl-default-worker-"), "\(kwargs)")
        #expect(kwargs.contains("memory: 2G"))

        let yaml = try CLI.run([dir.file("badyaml.lua"), "--dry-run"])
        #expect(yaml.status == 2 && yaml.stderr.contains("DaskExecutor cluster_kwargs.custom_cluster_spec: bad.yaml:"), "\(yaml.stderr)")
        let field = try CLI.run([dir.file("badfield.lua"), "--dry-run"])
        #expect(field.status == 2 && field.stderr.contains(
            "field.yaml (DaskExecutor cluster_kwargs.custom_cluster_spec): spec.worker.replicas: an integer from 0 to 1000 expected, got a string"),
                "\(field.stderr)")
    }

    @Test func theDryRunSaysWhereTheTasksRun() throws {
        let r = try CLI.run(["examples/static_cluster.lua", "--dry-run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.contains("# tasks run on the existing Dask cluster at tcp://dask-scheduler:8786 (DaskExecutor address): "
            + "the Job's pod joins its scheduler, and that cluster's workers run every task with the dkrun they have"), "\(r.stdout)")
        let dir = try TempDir(["flow.lua": """
            local t = task("t", function() end)
            return Flow("f", { run_config = KubernetesRun {}, executor = LocalDaskExecutor {} }, function() t() end)
            """])
        let threads = try CLI.run([dir.file("flow.lua"), "--dry-run"])
        #expect(threads.lines.contains("# tasks run in the Job's pod, on a pool of threads (LocalDaskExecutor)"), "\(threads.stdout)")
    }

    @Test func badKubernetesConfigurationIsBadInput() throws {
        let dir = try TempDir(["flow.lua": """
            local t = task("t", function() return 1 end)
            local f = Flow("Bad", function() t() end)
            f.run_config = KubernetesRun {}
            f.executor = DaskExecutor { cluster_class = "KubeCluster", cluster_kwargs = { n_worker = 2 } }
            return f
            """, "big.lua": """
            local t = task("t", function(x) return #x end)
            local f = Flow("Big", function() t(string.rep("x", 2000000)) end)
            f.run_config = KubernetesRun {}
            return f
            """])
        let bad = try CLI.run([dir.file("flow.lua"), "--dry-run"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("DaskExecutor cluster_kwargs.n_worker: KubeCluster has no such option"), "\(bad.stderr)")
        let big = try CLI.run([dir.file("big.lua"), "--dry-run"])
        #expect(big.status == 2)
        #expect(big.stderr.contains("flow 'Big': its payload is") && big.stderr.contains("a ConfigMap holds at most 1 MiB"), "\(big.stderr)")
        let logs = try CLI.run(["k8s", "logs", "nosuchrun"], environment: ["KUBECONFIG": "/nonexistent/config"])
        #expect(logs.status == 2 && logs.stderr.contains("no kubeconfig"))
        let cleanup = try CLI.run(["k8s", "cleanup"])
        #expect(cleanup.status != 0 && cleanup.stderr.contains("give a flow run's id, or --all"), "\(cleanup.stderr)")
    }

    /// No engine answers for these: they check the context and the commands printed (ImageBuildTests builds).
    static let noEngine = ["DKRUN_CONTAINER_ENGINE": "docker", "DOCKER_HOST": "unix:///nonexistent/docker.sock"]

    @Test func buildWritesTheImagesContextAndSaysHowToBuildIt() throws {
        let dir = try TempDir()
        let r = try CLI.run(["build", "examples/dask_on_kubernetes.lua", "-o", dir.file("ctx")], environment: Self.noEngine)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("docker build -t registry.example.com/flows/dask-on-k8s:0.1.0 \(dir.file("ctx"))"), "\(r.stdout)")
        #expect(r.stdout.contains("docker push registry.example.com/flows/dask-on-k8s:0.1.0"))
        // A base of the flow's: dkrun's layout installed on it, the Swift runtime found through ld.so.conf.
        let dockerfile = try String(contentsOfFile: dir.file("ctx/Dockerfile"), encoding: .utf8)
        #expect(dockerfile.hasPrefix("FROM python:3.11-slim-bookworm\n"))
        let lines = ["RUN echo /usr/local/lib/dkrun > /etc/ld.so.conf.d/dkrun.conf && ldconfig",
                     "ENTRYPOINT [\"/usr/local/share/dkrun/entrypoint.sh\"]",
                     "RUN /usr/local/lib/dkrun/venv/bin/pip install --no-cache-dir --disable-pip-version-check 'pyarrow'",
                     "ENV REPORT_LABEL=\"from the image\"", "COPY files/0 /opt/flow/sales.csv",
                     "COPY stdlib/ /usr/local/share/dkrun/stdlib/", "COPY dkrun /usr/local/bin/dkrun",
                     "RUN dkrun --version && python -c 'import dkrun_dask.driver, bokeh'"]
        let positions = lines.map { dockerfile.range(of: $0 + "\n")?.lowerBound }
        #expect(!positions.contains(nil) && positions.map { $0! } == positions.map { $0! }.sorted(), "in this order: \(lines) in \(dockerfile)")
        #expect(dockerfile.contains("python3 -m venv /usr/local/lib/dkrun/venv && ") && !dockerfile.contains("LD_LIBRARY_PATH"))
        #expect(FileManager.default.contentsEqual(atPath: dir.file("ctx/files/0"), andPath: CLI.repoRoot + "/examples/sales.csv"))
        #expect(FileManager.default.isExecutableFile(atPath: dir.file("ctx/dkrun")))
        #expect(FileManager.default.isExecutableFile(atPath: dir.file("ctx/entrypoint.sh")))
        for file in ["python/dkrun_dask/driver.py", "python/runtime-requirements.txt", "stdlib/dk/json.lua"] {
            #expect(FileManager.default.fileExists(atPath: dir.file("ctx/" + file)), "\(file)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("ctx/lib")).contains("libswiftCore.so"))

        // dkrun's base by default (DKRUN_IMAGE's if set): the layout is there, only the flow's layers and dkrun's.
        let flows = try TempDir(["default.lua": """
            return Flow("d", { storage = Docker { image_name = "d", image_tag = "1", env_vars = { A = "1" } } })
            """, "Dockerfile": "FROM debian:bookworm\nRUN true\n", "own.lua": """
            return Flow("o", { storage = Docker { image_name = "o", image_tag = "1", dockerfile = "Dockerfile" } })
            """])
        let onBase = try CLI.run(["build", flows.file("default.lua"), "-o", dir.file("default")], environment: Self.noEngine)
        #expect(onBase.status == 0, "\(onBase.stderr)")
        #expect(try String(contentsOfFile: dir.file("default/Dockerfile"), encoding: .utf8) == """
            FROM dkrun/dkrun:\(Product.version)
            ENV A="1"
            COPY stdlib/ /usr/local/share/dkrun/stdlib/
            COPY dkrun /usr/local/bin/dkrun
            RUN dkrun --version && python -c 'import dkrun_dask.driver, bokeh'

            """)
        let named = try CLI.run(["build", flows.file("default.lua"), "-o", dir.file("named")],
                                environment: Self.noEngine.merging(["DKRUN_IMAGE": "registry.example.com/dkrun/dkrun:1"]) { $1 })
        #expect(try String(contentsOfFile: dir.file("named/Dockerfile"), encoding: .utf8).hasPrefix("FROM registry.example.com/dkrun/dkrun:1\nENV"),
                "\(named.stderr)")
        // A dockerfile of the flow's: its own lines, then dkrun's layout installed as on any base.
        let own = try CLI.run(["build", flows.file("own.lua"), "-o", dir.file("own")], environment: Self.noEngine)
        #expect(own.status == 0, "\(own.stderr)")
        let ownDockerfile = try String(contentsOfFile: dir.file("own/Dockerfile"), encoding: .utf8)
        #expect(ownDockerfile.hasPrefix("FROM debian:bookworm\nRUN true\n") && ownDockerfile.contains("python3 -m venv"), "\(ownDockerfile)")

        let options = try TempDir(["flow.lua": """
            return Flow("f", { storage = Docker { image_name = "f", image_tag = "1", ignore_healthchecks = true,
              build_kwargs = { buildargs = { B = "2", A = "1" }, nocache = true, pull = false, target = "run" } } })
            """])
        let built = try CLI.run(["build", options.file("flow.lua"), "-o", dir.file("options")], environment: Self.noEngine)
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stdout.contains("docker build -t f:1 --build-arg A=1 --build-arg B=2 --no-cache --target run \(dir.file("options"))"),
                "\(built.stdout)")
        #expect(!(try String(contentsOfFile: dir.file("options/Dockerfile"), encoding: .utf8)).contains("dkrun --version"))

        let none = try CLI.run(["build", "examples/hello.lua", "-o", dir.file("none")])
        #expect(none.status == 2)
        #expect(none.stderr.contains("flow 'hello' has no image to build"), "\(none.stderr)")
    }
}
