@testable import DKCore
import DKKube
import Foundation
import Testing

/// How a flow's configuration becomes the objects of a run on Kubernetes: precedence of the
/// YAML specs over the quick configuration, dask-kubernetes' defaults, the Prefect 1.x
/// spellings, and the bad inputs each of them can get.
@Suite struct FlowRunPlanTests {
    func flow(_ configuration: [String: Value], tasks: [TaskSpec] = []) -> FlowSpec {
        FlowSpec(name: "Plan Test", tasks: tasks, edges: [], constants: [], referenceTasks: nil, configuration: configuration)
    }

    func plan(_ configuration: [String: Value], environment: [String: String] = [:], tasks: [TaskSpec] = []) throws -> FlowRunPlan {
        let flow = flow(configuration, tasks: tasks)
        guard case .kubernetes(let tasks) = try FlowPlacement.decide(for: flow, override: nil, cores: 2) else {
            throw CLIError("flow does not run on Kubernetes")
        }
        return try FlowRunPlan(flow: flow, tasks: tasks, runID: "0123abcd-4567-89ef-0123-456789abcdef", namespace: "flows",
                               image: try FlowImage.forRun(flow, defaultImage: "dkrun:test"), environment: environment)
    }

    func cluster(_ plan: FlowRunPlan) throws -> DaskClusterSpec {
        guard case .daskCluster(let spec) = plan.tasks else { throw CLIError("not a per-run cluster: \(plan.tasks)") }
        return spec
    }

    struct CLIError: Error { let message: String; init(_ m: String) { message = m } }

    @Test func localFlowsDoNotRunOnKubernetes() throws {
        #expect(try FlowPlacement.decide(for: flow([:]), override: nil, cores: 2) == .here(.local))
        #expect(try FlowPlacement.decide(for: flow(["executor": ["type": "DaskExecutor"]]), override: nil, cores: 2)
                == .here(.dask(["type": "DaskExecutor"])))
        #expect(try FlowPlacement.decide(for: flow(["run_config": ["type": "KubernetesRun"]]), override: "threads=3", cores: 2)
                == .here(.threads(3)))
    }

    @Test func theQuickConfigurationGivesDaskKubernetesDefaults() throws {
        let spec = try cluster(plan(["environment": ["type": "DaskKubernetesEnvironment", "min_workers": 1, "max_workers": 3]]))
        #expect(spec.minWorkers == 1 && spec.maxWorkers == 3)
        let worker = spec.workerPod(name: "dask-root-abc", schedulerAddress: "tcp://10.0.0.1:8786")
        let container = worker["spec"]!["containers"]!.arrayValue![0]
        #expect(container["args"] == ["dask", "worker", "--nthreads", "1", "--memory-limit", "4G", "--no-dashboard", "--death-timeout", "60"])
        #expect(container["resources"]!["limits"] == container["resources"]!["requests"])
        #expect(container["env"] == [["name": "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING", "value": "True"],
                                     ["name": "DASK_SCHEDULER_ADDRESS", "value": "tcp://10.0.0.1:8786"],
                                     ["name": "DASK_WORKER_NAME", "value": "dask-root-abc"]])
        #expect(container["image"] == "dkrun:test")
        #expect(worker["spec"]!["restartPolicy"] == "Never")
        #expect(worker["spec"]!["tolerations"]!.arrayValue!.count == 2)
        #expect(worker["metadata"]!["labels"]!["dkrun.io/flow-run"] == "0123abcd-4567-89ef-0123-456789abcdef")
        #expect(worker["metadata"]!["labels"]!["dask.org/component"] == "worker")
        #expect(spec.schedulerPod()["metadata"]!["name"] == "dkrun-0123abcd45-scheduler")
        #expect(spec.schedulerService()["spec"]!["selector"]!["dkrun.io/component"] == "scheduler")
    }

    /// The worker spec wins over the quick configuration: its replicas fix the size, its
    /// labels, env and args stay, and dkrun only adds what it must.
    @Test func theWorkerSpecTakesPrecedence() throws {
        let template: Value = [
            "kind": "Pod", "metadata": ["labels": ["foo": "bar"]],
            "spec": ["replicas": 2, "restartPolicy": "OnFailure",
                     "tolerations": [["key": "gpu", "operator": "Exists"]],
                     "imagePullSecrets": [["name": "mine"]],
                     "containers": [["name": "dask-worker", "image": "gcr.io/dev/flow:1",
                                     "args": ["dask-worker", "--nthreads", "2", "--no-bokeh", "--bokeh-port", "9000"],
                                     "env": [["name": "EXTRA_PIP_PACKAGES", "value": "fastparquet"]]]]],
        ]
        let plan = try plan(["environment": ["type": "DaskKubernetesEnvironment", "min_workers": 1, "max_workers": 5,
                                             "worker_spec": template, "image_pull_secret": "regcred"]])
        let spec = try cluster(plan)
        #expect(spec.minWorkers == 2 && spec.maxWorkers == 2)
        #expect(spec.notes.first?.contains("replicas: 2 fixes the cluster at 2 workers") == true)
        let pod = spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786")
        #expect(pod["spec"]!["replicas"] == nil)
        #expect(pod["spec"]!["restartPolicy"] == "OnFailure")
        #expect(pod["metadata"]!["labels"]!["foo"] == "bar")
        #expect(pod["spec"]!["tolerations"]!.arrayValue!.count == 3)
        #expect(pod["spec"]!["imagePullSecrets"] == [["name": "mine"], ["name": "regcred"]])
        let container = pod["spec"]!["containers"]!.arrayValue![0]
        #expect(container["image"] == "gcr.io/dev/flow:1")
        #expect(container["args"] == ["dask", "worker", "--nthreads", "2", "--no-dashboard", "--dashboard-address", ":9000"])
        #expect(container["env"]!.arrayValue!.map { $0["name"]! }
                == ["EXTRA_PIP_PACKAGES", "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING", "DASK_SCHEDULER_ADDRESS", "DASK_WORKER_NAME"])
        let stealing = try cluster(self.plan(["environment": ["type": "DaskKubernetesEnvironment", "work_stealing": false]]))
        #expect(stealing.env["DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING"] == "False")
    }

    @Test func mismatchedWorkerResourcesAreWarnedAbout() throws {
        func pod(_ args: [Value], _ limits: Value) -> Value {
            ["kind": "Pod", "spec": ["containers": [["name": "w", "args": .array(args), "resources": ["limits": limits]]]]]
        }
        // The seed's spec matches: 2 threads on 2 CPUs, 4GB (Dask) = 4G (Kubernetes).
        #expect(WorkerResources.warnings(pod(["dask-worker", "--nthreads", "2", "--memory-limit", "4GB"],
                                             ["cpu": "2", "memory": "4G"])).isEmpty)
        #expect(WorkerResources.warnings(pod(["dask", "worker", "--memory-limit", "2GiB"], ["memory": "2Gi"])).isEmpty)
        let both = WorkerResources.warnings(pod(["dask", "worker", "--nthreads", "4", "--memory-limit", "6GB"],
                                                ["cpu": "500m", "memory": "4Gi"]))
        #expect(both == ["warning: the worker spec runs --nthreads 4 on 500m CPU: make them match, or workers overload their nodes (seed dask-kubernetes.txt)",
                         "warning: the worker spec gives Dask --memory-limit 6GB and its pod 4Gi of memory: make them match, or the kernel kills workers Dask thinks have room (KilledWorker)"])
        let spec = try cluster(plan(["environment": ["type": "DaskKubernetesEnvironment",
                                                     "worker_spec": pod(["dask", "worker", "--nthreads", "4"], ["cpu": "1"])]]))
        #expect(spec.notes.contains { $0.hasPrefix("warning: the worker spec runs --nthreads 4 on 1 CPU") })
    }

    @Test func workerNamesFollowTheTemplate() throws {
        var spec = try cluster(plan(["environment": ["type": "DaskKubernetesEnvironment"]],
                                    environment: ["DASK_KUBERNETES__WORKER_NAME": "dask-{JUPYTERHUB_USER}-{uuid}"]))
        #expect(spec.workerName(user: "root", uuid: "abc", environment: ["JUPYTERHUB_USER": "Ada_L"]) == "dask-ada-l-abc")
        spec.workerNameTemplate = "dask-{user}-{uuid}"
        #expect(spec.workerName(user: "root", uuid: "0f1e", environment: [:]) == "dask-root-0f1e")
    }

    @Test func theImageComesFromTheRunConfigStorageOrDefault() throws {
        let storage: Value = ["type": "Docker", "registry_url": "gcr.io/dev/", "image_name": "flow", "image_tag": "0.1.0"]
        #expect(try plan(["environment": ["type": "DaskKubernetesEnvironment"], "storage": storage]).image == "gcr.io/dev/flow:0.1.0")
        #expect(try plan(["run_config": ["type": "KubernetesRun", "image": "mine:2"], "storage": storage]).image == "mine:2")
        #expect(try plan(["run_config": ["type": "KubernetesRun"]]).image == "dkrun:test")
        let old = try plan(["environment": ["type": "DaskOnKubernetesEnvironment", "registry_url": "r.io", "image_name": "x",
                                            "image_tag": "1", "max_workers": 4]])
        #expect(old.image == "r.io/x:1")
        let spec = try cluster(old)
        #expect(spec.minWorkers == 1 && spec.maxWorkers == 4)
    }

    @Test func kubernetesRunWithAnExecutorRunsTasksInTheJob() throws {
        let run: Value = ["type": "KubernetesRun", "env": ["A": "1"], "cpu_limit": "2", "memory_request": "1Gi",
                          "service_account_name": "dkrun", "image_pull_secrets": ["regcred"]]
        let p = try plan(["run_config": run, "executor": ["type": "DaskExecutor", "address": "tcp://dask-scheduler:8786"]])
        guard case .executor(.dask(let settings)) = p.tasks else { Issue.record("\(p.tasks)"); return }
        #expect(settings["address"] == "tcp://dask-scheduler:8786")
        let job = p.job(ttl: 600)
        #expect(job["spec"]!["backoffLimit"] == 0 && job["spec"]!["ttlSecondsAfterFinished"] == 600)
        let pod = job["spec"]!["template"]!["spec"]!
        #expect(pod["serviceAccountName"] == "dkrun" && pod["imagePullSecrets"] == [["name": "regcred"]])
        let c = pod["containers"]!.arrayValue![0]
        #expect(c["command"] == ["dkrun", "k8s", "flow-run", "/var/run/dkrun/payload/payload.msgpack"])
        #expect(c["resources"] == ["limits": ["cpu": "2"], "requests": ["memory": "1Gi"]])
        #expect(c["env"]!.arrayValue!.contains(["name": "A", "value": "1"]))
        guard case .executor(.local) = try plan(["run_config": ["type": "KubernetesRun"]]).tasks else { Issue.record("not local"); return }
    }

    @Test func theJobTemplateIsKept() throws {
        let template: Value = ["apiVersion": "batch/v1", "kind": "Job", "metadata": ["labels": ["team": "data"]],
                               "spec": ["template": ["spec": ["nodeSelector": ["pool": "flows"],
                                                              "containers": [["name": "main", "env": [["name": "X", "value": "y"]]]]]]]]
        let job = try plan(["run_config": ["type": "KubernetesRun", "job_template": template]]).job(ttl: 60)
        #expect(job["metadata"]!["labels"]!["team"] == "data")
        #expect(job["metadata"]!["labels"]!["dkrun.io/component"] == "job")
        let pod = job["spec"]!["template"]!["spec"]!
        #expect(pod["nodeSelector"] == ["pool": "flows"])
        #expect(pod["containers"]!.arrayValue![0]["name"] == "main")
        #expect(pod["containers"]!.arrayValue![0]["env"]!.arrayValue!.first == ["name": "X", "value": "y"])
    }

    @Test func kubeClusterSpellingMapsOntoTheSameCluster() throws {
        let executor: Value = ["type": "DaskExecutor", "cluster_class": "dask_kubernetes.KubeCluster",
                               "cluster_kwargs": ["n_workers": 2, "env": ["STAGE": "prod"]],
                               "adapt_kwargs": ["minimum": 0, "maximum": 4, "interval": 2, "wait_count": 5]]
        let spec = try cluster(plan(["run_config": ["type": "KubernetesRun"], "executor": executor]))
        #expect(spec.minWorkers == 0 && spec.maxWorkers == 4 && spec.reportInterval == 2 && spec.scaleDownReports == 5)
        #expect(spec.env == ["STAGE": "prod"])
        let fixed = try cluster(plan(["run_config": ["type": "KubernetesRun"],
                                      "executor": ["type": "DaskExecutor", "cluster_class": "KubeCluster", "cluster_kwargs": ["n_workers": 3]]]))
        #expect(fixed.minWorkers == 3 && fixed.maxWorkers == 3)
    }

    /// A task asking for resources, at flow.lua:7.
    static func task(_ slug: String, resources: [String: Double]) -> TaskSpec {
        var task = TaskSpec(slug: slug, name: slug, source: "flow.lua:7", argumentNames: [], isVararg: false, maxRetries: 0,
                            retryDelay: 0, timeout: nil, trigger: .allSuccessful, skipOnUpstreamSkip: true, tags: [],
                            nout: nil, checkpoint: nil, parameter: nil)
        task.resources = resources
        return task
    }

    static let gpuSpec: Value = ["kind": "Pod", "spec": ["nodeSelector": ["pool": "gpu"], "containers": [
        ["name": "gpu-worker", "args": ["dask", "worker", "--nthreads", "1", "--resources", "GPU=8"]]]]]

    /// Worker groups, in both spellings: bounds, resources, their own spec or the default
    /// workers', a label naming the group, and `--resources` from the group over the spec's.
    @Test func workerGroupsInBothSpellings() throws {
        let groups: Value = ["gpu": ["worker_spec_file": "gpu.yaml", "min_workers": 0, "max_workers": 2, "resources": ["GPU": 1]],
                             "big": ["max_workers": 3, "resources": ["MEMORY": 6.4e10]]]
        let env: Value = ["type": "DaskKubernetesEnvironment", "min_workers": 0, "max_workers": 2, "worker_groups": groups,
                          "worker_group_specs": ["gpu": Self.gpuSpec]]
        let kwargs: Value = ["worker_groups": ["gpu": ["pod_template": Self.gpuSpec, "min_workers": 0, "max_workers": 2, "resources": ["GPU": 1]],
                                               "big": ["max_workers": 3, "resources": ["MEMORY": 6.4e10]]]]
        let tasks = [Self.task("train", resources: ["GPU": 1]), Self.task("load", resources: ["MEMORY": 1e10])]
        for spec in [try cluster(plan(["environment": env], tasks: tasks)),
                     try cluster(plan(["run_config": ["type": "KubernetesRun"],
                                       "executor": ["type": "DaskExecutor", "cluster_class": "KubeCluster", "cluster_kwargs": kwargs,
                                                    "adapt_kwargs": ["minimum": 0, "maximum": 2]]], tasks: tasks))] {
            #expect(spec.minWorkers == 0)
            #expect(spec.groups.map(\.name) == ["big", "gpu"])
            #expect(spec.groups.map(\.minWorkers) == [0, 0] && spec.groups.map(\.maxWorkers) == [3, 2])
            let gpu = spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786", group: spec.groups[1])
            #expect(gpu["metadata"]?["labels"]?[WorkerGroup.label] == "gpu")
            #expect(gpu["spec"]?["nodeSelector"] == ["pool": "gpu"])
            #expect(gpu["spec"]?["containers"]?.arrayValue?[0]["args"] == ["dask", "worker", "--nthreads", "1", "--resources", "GPU=1"])
            let big = spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786", group: spec.groups[0])
            #expect(big["spec"]?["containers"]?.arrayValue?[0]["args"]?.arrayValue?.suffix(2) == ["--resources", "MEMORY=64000000000"])
            let plain = spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786")
            #expect(plain["metadata"]?["labels"]?[WorkerGroup.label] == "default")
            #expect(spec.notes.contains("worker group gpu: 0 to 2 workers, scaled from the tasks that need its resources (GPU=1); "
                + "its pods: its own spec, labelled dkrun.io/worker-group=gpu"))
        }
    }

    static let badWorkerGroups: [(Value, String)] = [
        (["gpu": ["min_worker": 1]],
         "DaskKubernetesEnvironment.worker_groups.gpu: unknown field 'min_worker' (a group has worker_spec_file, min_workers, max_workers, resources)"),
        (["gpu": ["min_workers": 3, "max_workers": 2]], "DaskKubernetesEnvironment.worker_groups.gpu: min_workers (3) is greater than max_workers (2)"),
        (["GPU Pool": ["max_workers": 2]], "DaskKubernetesEnvironment.worker_groups: group names must be lower-case letters, digits and '-' "
            + "(a Kubernetes label value), and not 'default' (the run's other workers); got \"GPU Pool\""),
        (["default": ["max_workers": 2]], "DaskKubernetesEnvironment.worker_groups: group names must be lower-case letters, digits and '-' "
            + "(a Kubernetes label value), and not 'default' (the run's other workers); got \"default\""),
        (["gpu": ["resources": ["GPU": "one"]]], "DaskKubernetesEnvironment.worker_groups.gpu.resources.GPU: a non-negative number expected, got a string"),
        (["gpu": ["max_workers": 0]], "DaskKubernetesEnvironment.worker_groups.gpu.max_workers: an integer from 1 to 1000 expected, got 0"),
        // No group offers what `train` needs.
        (["gpu": ["resources": ["GPU": 0.5]]], "task 'train' (flow.lua:7) needs resources GPU=1, and no worker group offers them: the groups "
            + "offer default (none), gpu (GPU=0.5); add a group to worker_groups with resources = { ... }, or give the default workers --resources"),
    ]

    @Test(arguments: badWorkerGroups)
    func badWorkerGroupsAreNamed(groups: Value, message: String) throws {
        let env: Value = ["type": "DaskKubernetesEnvironment", "worker_groups": groups]
        let error = #expect(throws: (any Error).self) { try plan(["environment": env], tasks: [Self.task("train", resources: ["GPU": 1])]) }
        #expect(error.map { "\($0)" } == message)
        #expect((error as? any CategorizedError)?.exitStatus == .badInput)
    }

    static let badKubeClusterOptions: [([String: Value], String)] = [
        (["cluster_kwargs": ["n_worker": 2]],
         "DaskExecutor cluster_kwargs.n_worker: KubeCluster has no such option (it has pod_template, scheduler_pod_template, name, n_workers, env, image, startup_timeout, namespace, worker_groups)"),
        (["adapt_kwargs": ["minimum": 3, "maximum": 2]], "DaskExecutor adapt_kwargs: maximum (2) is less than minimum (3)"),
        (["cluster_kwargs": ["pod_template": "worker.yaml"]],
         "DaskExecutor cluster_kwargs.pod_template must be a Pod spec table (load a file with dk.yaml.load_file)"),
        (["cluster_kwargs": ["pod_template": ["kind": "Pod", "spec": ["containers": 5]]]],
         "DaskExecutor cluster_kwargs.pod_template: spec.containers: a list of containers expected, got an integer"),
        (["cluster_kwargs": ["scheduler_pod_template": ["kind": "Pod", "spec": ["replicas": 2]]]],
         "DaskExecutor cluster_kwargs.scheduler_pod_template: spec.replicas: only a worker spec takes replicas (the cluster's size)"),
        (["cluster_kwargs": ["n_workers": 5000]], "DaskExecutor cluster_kwargs.n_workers: an integer from 0 to 1000 expected, got 5000"),
        (["adapt_kwargs": ["maximum": 99_999_999_999_999]],
         "DaskExecutor adapt_kwargs.maximum: an integer from 1 to 1000 expected, got 99999999999999"),
        (["adapt_kwargs": ["maximum": 2, "wait_count": 0]], "DaskExecutor adapt_kwargs.wait_count: an integer from 1 to 1000000 expected, got 0"),
        (["adapt_kwargs": ["maximum": 2, "interval": .float(.nan)]],
         "DaskExecutor adapt_kwargs.interval: a number of seconds above 0, at most 1e9 expected, got nan"),
        (["cluster_kwargs": ["startup_timeout": -1]],
         "DaskExecutor cluster_kwargs.startup_timeout: a number of seconds above 0, at most 1e9 expected, got -1"),
    ]

    @Test(arguments: badKubeClusterOptions)
    func badKubeClusterOptionsAreNamed(fields: [String: Value], message: String) throws {
        var executor: Value = ["type": "DaskExecutor", "cluster_class": "KubeCluster"]
        for (k, v) in fields { executor[k] = v }
        let error = #expect(throws: (any Error).self) { try plan(["run_config": ["type": "KubernetesRun"], "executor": executor]) }
        #expect(error.map { "\($0)" } == message)
        #expect((error as? any CategorizedError)?.exitStatus == .badInput)
    }

    func operatorPlan(_ kwargs: Value, adapt: Value? = nil, loaded: Value? = nil) throws -> FlowRunPlan {
        var executor: Value = ["type": "DaskExecutor", "cluster_class": "dask_kubernetes.operator.KubeCluster", "cluster_kwargs": kwargs]
        if let adapt { executor["adapt_kwargs"] = adapt }
        if let loaded { executor["custom_cluster_spec"] = loaded }
        return try plan(["run_config": ["type": "KubernetesRun", "env": ["FROM_RUN": "1"]], "executor": executor])
    }

    /// The operator KubeCluster's arguments become the pods its make_cluster_spec describes:
    /// env and resources on the scheduler and the workers, the worker command with the
    /// operator's options, the image, the workers named after the cluster, the Service type.
    @Test func theOperatorsArgumentsMakeItsPods() throws {
        let spec = try cluster(operatorPlan([
            "name": "etl", "n_workers": 2, "image": "flows:1", "env": ["STAGE": "prod"], "worker_command": "dask worker --nthreads 2",
            "resources": ["limits": ["cpu": "2", "memory": "4G"]], "scheduler_service_type": "LoadBalancer", "resource_timeout": 30]))
        #expect(spec.minWorkers == 2 && spec.maxWorkers == 2 && spec.startupTimeout == 30)
        let worker = spec.workerPod(name: spec.workerName(user: "u", uuid: "abc", environment: [:]), schedulerAddress: "tcp://s:8786")
        #expect(worker["metadata"]!["name"] == "etl-default-worker-abc")
        #expect(worker["metadata"]!["labels"]!["dask.org/cluster-name"] == "etl")
        let w = worker["spec"]!["containers"]!.arrayValue![0]
        #expect(w["image"] == "flows:1")
        #expect(w["args"] == ["dask", "worker", "--nthreads", "2", "--name", "$(DASK_WORKER_NAME)", "--dashboard", "--dashboard-address", "8788"])
        #expect(w["resources"] == ["limits": ["cpu": "2", "memory": "4G"]])
        #expect(w["env"] == [["name": "STAGE", "value": "prod"], ["name": "DASK_SCHEDULER_ADDRESS", "value": "tcp://s:8786"],
                             ["name": "DASK_WORKER_NAME", "value": "etl-default-worker-abc"], ["name": "FROM_RUN", "value": "1"]])
        let s = spec.schedulerPod()["spec"]!["containers"]!.arrayValue![0]
        #expect(s["args"] == ["dask", "scheduler", "--host", "0.0.0.0"] && s["image"] == "flows:1")
        #expect(s["resources"] == w["resources"] && s["env"]!.arrayValue!.first == ["name": "STAGE", "value": "prod"])
        #expect(spec.schedulerService()["spec"]!["type"] == "LoadBalancer")

        // env as a list of Kubernetes env vars; adapt_kwargs' bounds over n_workers; no name: the operator's default.
        let adaptive = try cluster(operatorPlan(["n_workers": 3, "env": [["name": "A", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]]]],
                                                adapt: ["minimum": 0, "maximum": 4]))
        #expect(adaptive.minWorkers == 0 && adaptive.maxWorkers == 4)
        #expect(adaptive.workerNameTemplate == "dask-{user}-{uuid}-default-worker-{uuid}")
        let env = adaptive.workerPod(name: "w", schedulerAddress: "tcp://s:8786")["spec"]!["containers"]!.arrayValue![0]["env"]!
        #expect(env.arrayValue!.first == ["name": "A", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]])
        #expect(adaptive.schedulerService()["spec"]!["type"] == "ClusterIP")  // make_cluster_spec's default, written out
    }

    /// What make_cluster_spec writes, as a user's custom_cluster_spec (here as its YAML file
    /// loaded by the prelude): its pod specs, replicas, labels and Service type.
    static let customSpec: Value = [
        "apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": ["name": "custom", "labels": ["team": "data"]],
        "spec": ["idleTimeout": 0,
                 "worker": ["replicas": 3, "metadata": ["labels": ["tier": "worker"]],
                            "spec": ["nodeSelector": ["pool": "dask"], "containers": [["name": "worker", "args": ["dask-worker", "--nthreads", "1"],
                                                                                        "env": [["name": "STAGE", "value": "custom"]]]]]],
                 "scheduler": ["spec": ["containers": [["name": "scheduler", "args": ["dask-scheduler", "--host", "0.0.0.0"]]]],
                               "service": ["type": "NodePort", "selector": ["dask.org/cluster-name": "custom"],
                                           "ports": [["name": "tcp-comm", "port": 8786, "targetPort": "tcp-comm"]]]]]]

    @Test func aCustomClusterSpecBecomesTheRunsPods() throws {
        let spec = try cluster(operatorPlan(["custom_cluster_spec": "cluster.yaml", "namespace": "dask"], loaded: Self.customSpec))
        #expect(spec.minWorkers == 3 && spec.maxWorkers == 3 && spec.namespace == "dask")
        let worker = spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786")
        #expect(worker["metadata"]!["labels"]!["team"] == "data" && worker["metadata"]!["labels"]!["tier"] == "worker")
        #expect(worker["spec"]!["nodeSelector"] == ["pool": "dask"])
        #expect(worker["spec"]!["containers"]!.arrayValue![0]["args"] == ["dask", "worker", "--nthreads", "1"])
        #expect(spec.schedulerPod()["metadata"]!["labels"]!["tier"] == nil)
        #expect(spec.schedulerService()["spec"]!["type"] == "NodePort")
        #expect(spec.schedulerService()["spec"]!["selector"]!["dkrun.io/component"] == "scheduler")
        #expect(spec.notes.contains { $0.hasPrefix("the scheduler Service's selector and ports are dkrun's") })
        let inline = try cluster(operatorPlan(["custom_cluster_spec": Self.customSpec]))
        #expect(inline.workerTemplate == spec.workerTemplate)
    }

    /// `customSpec` with the field at `path` set to `value` (nil: removed).
    static func customSpecWith(_ path: [String], _ value: Value?) -> Value {
        func set(_ v: Value, _ path: ArraySlice<String>) -> Value {
            var v = v
            v[path.first!] = path.count == 1 ? value : set(v[path.first!] ?? [:], path.dropFirst())
            return v
        }
        return set(customSpec, path[...])
    }

    static let badOperatorOptions: [(Value, String)] = [
        (["pod_template": ["kind": "Pod"]], "DaskExecutor cluster_kwargs.pod_template: the operator's KubeCluster has no such argument "
            + "(dkrun takes name, namespace, image, n_workers, resources, env, worker_command, scheduler_service_type, custom_cluster_spec, "
            + "resource_timeout, idle_timeout, shutdown_on_close)"),
        (["jupyter": true], "DaskExecutor cluster_kwargs.jupyter: dkrun does not take it: dkrun's scheduler pod runs the Dask scheduler only"),
        (["create_mode": "CONNECT_ONLY"], "DaskExecutor cluster_kwargs.create_mode: dkrun does not take it: dkrun makes a new cluster for "
            + "every run and never connects to an existing one (to join a cluster, give DaskExecutor an address instead)"),
        (["n_workers": "2"], "DaskExecutor cluster_kwargs.n_workers: an integer from 0 to 1000 expected, got a string"),
        (["env": ["A": 1]], "DaskExecutor cluster_kwargs.env.A: a string expected, got an integer"),
        (["env": [["value": "x"]]], "DaskExecutor cluster_kwargs.env[1]: an environment variable ({ name = ..., value = ... }) expected, got no name"),
        (["env": "A=1"], "DaskExecutor cluster_kwargs.env: a table of strings by name, or a list of { name = ..., value = ... }, expected, got a string"),
        (["resources": ["GPU": 1]], "DaskExecutor cluster_kwargs.resources.GPU: the operator's resources are a container's Kubernetes resources, "
            + "limits and requests (resources = { limits = { cpu = \"1\", memory = \"4G\" } }); a task's Dask resources go in the task's resources option"),
        (["resources": ["limits": "2G"]], "DaskExecutor cluster_kwargs.resources.limits: a table expected, got a string"),
        (["worker_command": 5], "DaskExecutor cluster_kwargs.worker_command: a string or a list of strings expected, got an integer"),
        (["scheduler_service_type": "ExternalName"],
         "DaskExecutor cluster_kwargs.scheduler_service_type: one of ClusterIP, NodePort, LoadBalancer expected, got \"ExternalName\""),
        (["idle_timeout": -1], "DaskExecutor cluster_kwargs.idle_timeout: an integer from 0 to 2147483647 expected, got -1"),
        (["shutdown_on_close": false], "DaskExecutor cluster_kwargs.shutdown_on_close: dkrun deletes the run's cluster when the run ends; "
            + "a cluster that outlives its run is a static one (`dkrun k8s static-cluster`, DaskExecutor address)"),
        (["custom_cluster_spec": customSpec, "n_workers": 2], "DaskExecutor cluster_kwargs.n_workers: beside custom_cluster_spec the operator's "
            + "KubeCluster does not read it (the spec is the whole cluster): set it in the spec"),
        (["custom_cluster_spec": 3], "DaskExecutor cluster_kwargs.custom_cluster_spec: a DaskCluster resource (a table) or its YAML file's path "
            + "expected, got an integer"),
        (["custom_cluster_spec": customSpecWith(["kind"], "Pod")], "DaskExecutor cluster_kwargs.custom_cluster_spec: kind: DaskCluster expected, got \"Pod\""),
        (["custom_cluster_spec": customSpecWith(["metadata", "name"], nil)],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: metadata.name: the cluster's name expected (its worker pods are named after it)"),
        (["custom_cluster_spec": customSpecWith(["spec", "worker"], nil)],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.worker: the workers' replicas and Pod spec expected"),
        (["custom_cluster_spec": customSpecWith(["spec", "worker", "replicas"], "two")],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.worker.replicas: an integer from 0 to 1000 expected, got a string"),
        (["custom_cluster_spec": customSpecWith(["spec", "worker", "spec", "containers"], 5)],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.worker: spec.containers: a list of containers expected, got an integer"),
        (["custom_cluster_spec": customSpecWith(["spec", "worker", "minReplicas"], 1)],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.worker.minReplicas: dkrun does not take it (it takes replicas, metadata, spec here)"),
        (["custom_cluster_spec": customSpecWith(["spec", "idleTimeout"], 60)],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.idleTimeout: dkrun deletes the run's cluster when the run ends, idle or not: give 0 or none"),
        (["custom_cluster_spec": customSpecWith(["spec", "scheduler", "service", "loadBalancerIP"], "10.0.0.9")],
         "DaskExecutor cluster_kwargs.custom_cluster_spec: spec.scheduler.service.loadBalancerIP: dkrun does not take it (it takes type, selector, ports here)"),
    ]

    @Test(arguments: badOperatorOptions)
    func badOperatorOptionsAreNamed(kwargs: Value, message: String) throws {
        let error = #expect(throws: (any Error).self) { try operatorPlan(kwargs) }
        #expect(error.map { "\($0)" } == message)
        #expect((error as? any CategorizedError)?.exitStatus == .badInput)
    }

    @Test func theOperatorsAdaptTakesMinimumAndMaximumOnly() throws {
        let error = #expect(throws: (any Error).self) { try operatorPlan([:], adapt: ["maximum": 2, "interval": 5]) }
        #expect(error.map { "\($0)" } == "DaskExecutor adapt_kwargs.interval: the operator's KubeCluster.adapt takes minimum and maximum only")
    }

    /// A worker spec's replicas fix the cluster only within the limit: -5 would make a range
    /// that traps, 99999999999999 a loop that never ends.
    @Test(arguments: [(Value.int(-5), "-5"), (.int(99_999_999_999_999), "99999999999999"), (.text("2"), "a string")])
    func replicasOutOfRangeAreRefused(replicas: Value, shown: String) throws {
        let env: Value = ["type": "DaskKubernetesEnvironment", "worker_spec_file": "w.yaml", "worker_spec": ["kind": "Pod", "spec": ["replicas": replicas]]]
        #expect(throws: Numbers.RangeError(field: "w.yaml (DaskKubernetesEnvironment worker_spec_file): spec.replicas",
                                           problem: "an integer from 1 to 1000 expected, got \(shown)")) {
            try plan(["environment": env])
        }
    }

    @Test func thePullSecretIsADockerConfigJSON() throws {
        let p = try plan(["environment": ["type": "DaskKubernetesEnvironment", "private_registry": true,
                                          "docker_secret": "DOCKER_REGISTRY_CREDENTIALS"]])
        #expect(p.pullSecrets == ["docker-registry-credentials"])
        let secret = try p.pullSecret(credentials: #"{"docker-server": "r.io", "docker-username": "u", "docker-password": "p", "docker-email": "e@x"}"#,
                                      from: "DOCKER_REGISTRY_CREDENTIALS")
        #expect(secret["type"] == "kubernetes.io/dockerconfigjson")
        let encoded = try #require(secret["data"]?[".dockerconfigjson"]?.stringValue)
        let json = try JSON.decode(try #require(Base64.decode(encoded)))
        #expect(json["auths"]?["r.io"] == ["username": "u", "password": "p", "email": "e@x", "auth": .text(Base64.encode(Array("u:p".utf8)))])
        #expect(throws: FlowError("secret 'DOCKER_REGISTRY_CREDENTIALS' (docker_secret) has no docker-email: it must map docker-server, docker-username, docker-password and docker-email")) {
            try p.pullSecret(credentials: "docker-server: r.io\ndocker-username: u\ndocker-password: p\n", from: "DOCKER_REGISTRY_CREDENTIALS")
        }
    }

    /// The dkrun secrets a run takes along: one Secret, mounted read-only where dk.secrets
    /// looks on the Job's pod and the first container of every Dask pod; nothing without them.
    @Test func theRunsSecretsAreMountedOnEveryPod() throws {
        let mount: Value = ["name": "dkrun-secrets", "mountPath": "/var/run/secrets/dkrun", "readOnly": true]
        let volume: Value = ["name": "dkrun-secrets", "secret": ["secretName": "dkrun-0123abcd45-secrets"]]
        let p = try plan(["environment": ["type": "DaskKubernetesEnvironment", "secrets": ["db_password", "api.token"]],
                          "run_config": ["type": "KubernetesRun", "secrets": ["db_password"]]])
        #expect(p.secretNames == ["api.token", "db_password"])
        let secret = p.runSecret(["api.token": "t0k", "db_password": "pw\n"])
        #expect(secret["metadata"]!["name"] == "dkrun-0123abcd45-secrets" && secret["type"] == "Opaque")
        #expect(secret["metadata"]!["labels"]!["dkrun.io/flow-run"] == "0123abcd-4567-89ef-0123-456789abcdef")
        #expect(secret["data"] == ["api.token": "dDBr", "db_password": "cHcK"])
        let job = p.job(ttl: 600)["spec"]!["template"]!["spec"]!
        #expect(job["volumes"]!.arrayValue!.contains(volume))
        #expect(job["containers"]!.arrayValue![0]["volumeMounts"]!.arrayValue!.contains(mount))
        let spec = try cluster(p)
        let template: Value = ["spec": ["containers": [["name": "w", "args": ["dask", "worker"]], ["name": "sidecar", "image": "s"]]]]
        var custom = spec
        custom.workerTemplate = template
        for pod in [spec.schedulerPod(), spec.workerPod(name: "w", schedulerAddress: "tcp://s:8786"),
                    custom.workerPod(name: "w", schedulerAddress: "tcp://s:8786")] {
            #expect(pod["spec"]!["volumes"] == [volume])
            let containers = pod["spec"]!["containers"]!.arrayValue!
            #expect(containers[0]["volumeMounts"] == [mount])
            #expect(containers.dropFirst().allSatisfy { $0["volumeMounts"] == nil })
        }

        let none = try plan(["environment": ["type": "DaskKubernetesEnvironment"]])
        #expect(none.secretNames.isEmpty)
        #expect(none.job(ttl: 600)["spec"]!["template"]!["spec"]!["volumes"]!.arrayValue!.count == 1)  // the payload's
        #expect(try cluster(none).schedulerPod()["spec"]!["volumes"] == nil)
    }

    @Test func aPayloadTooBigForAConfigMapIsRefused() throws {
        let p = try plan(["run_config": ["type": "KubernetesRun"]])
        #expect(throws: FlowError.self) { try p.payloadConfigMap([UInt8](repeating: 0, count: 1_100_000)) }
        let small = try p.payloadConfigMap([1, 2, 3])
        #expect(small["binaryData"]?["payload.msgpack"] == "AQID")
        #expect(small["metadata"]?["name"] == "dkrun-0123abcd45-payload")
    }
}

@Suite struct RunEventRoundTripTests {
    @Test func eventsSurviveTheirJSONForm() throws {
        let t = 1_790_000_000.25
        let events: [RunEvent] = [
            .flowStarted(flow: "f", tasks: 3, executor: "DaskExecutor(x)", time: t),
            .taskState(TaskRunID(task: "a", mapIndex: 2), TaskState(.success, result: ["x": 1]), attempt: 1, duration: 0.5,
                       worker: "tcp://w:1", time: t),
            .taskState(TaskRunID(task: "b"), TaskState(.failed, message: "boom"), attempt: 2, duration: nil, time: t),
            .log(TaskRunID(task: "a"), .warning, "careful", time: t),
            .log(nil, .info, "cluster up", time: t),
            .flowFinished(flow: "f", state: TaskState(.failed, message: "1 failed"), counts: [.success: 2, .failed: 1], wall: 3.5, time: t),
        ]
        for event in events {
            let decoded = try #require(RunEvent(value: try JSON.decode(Array(JSON.encode(event.value).utf8))))
            #expect(JSON.encode(decoded.value) == JSON.encode(event.value))
        }
        #expect(RunEvent(value: ["event": "nonsense"]) == nil)
    }
}
