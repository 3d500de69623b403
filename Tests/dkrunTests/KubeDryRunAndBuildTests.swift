import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua --dry-run` (every object a Kubernetes run would make, valid Kubernetes),
/// `dkrun build` (the image's build context) and their bad inputs; no cluster needed.
@Suite(.timeLimit(.minutes(5))) struct KubeDryRunAndBuildTests {
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
