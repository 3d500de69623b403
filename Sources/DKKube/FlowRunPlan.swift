import DKCore

/// How one flow run goes on Kubernetes, decided from the flow's configuration: the image,
/// the pull secrets, the Job that runs the flow, and where its tasks run (a Dask cluster made
/// for the run, or the executor the flow names). Both sides use it: dkrun on the user's
/// machine makes the Job from it (or prints it, `--dry-run`), the Job's dkrun makes the
/// cluster from it.
public struct FlowRunPlan: Sendable {
    public enum Tasks: Sendable {
        /// A Dask cluster of pods made for this run (DaskKubernetesEnvironment,
        /// DaskOnKubernetesEnvironment, or KubernetesRun with DaskExecutor's KubeCluster).
        case daskCluster(DaskClusterSpec)
        /// In the Job's pod with the flow's executor (local, threads, a temporary local Dask
        /// cluster, or an existing scheduler's address).
        case executor(ExecutorChoice)
    }

    /// Where the Job's pod finds the payload.
    public static let payloadDirectory = "/var/run/dkrun/payload"
    public static let payloadFile = "payload.msgpack"
    /// A ConfigMap holds at most 1 MiB (etcd's limit), keys and metadata included.
    public static let configMapLimit = 1_048_576 - 16_384

    public let runID: String
    public let namespace: String
    public let flowName: String
    public let image: String
    public var tasks: Tasks
    /// Secrets named in imagePullSecrets of every pod.
    public let pullSecrets: [String]
    /// The pull secret dkrun makes from a dkrun secret when it does not exist (private_registry).
    public let pullSecretSource: (name: String, secret: String)?
    /// The dkrun secrets the run takes along (the environment's and the run config's
    /// `secrets`): copied into the Kubernetes Secret `secretsName` at submit, mounted where
    /// `dk.secrets` looks on the Job's pod and the Dask pods.
    public let secretNames: [String]
    /// The service account the Job's pod runs as (KubernetesRun's service_account_name, or
    /// `--service-account`); nil: the namespace's default.
    public var serviceAccount: String?
    /// The id of the run this one resumes (docs/results.md, Resume), passed to the Job's pod
    /// as DKRUN_RESUMES; nil: none.
    public var resumes: String?
    /// The tasks the run approves (`FlowRunContext.approved`), passed as DKRUN_APPROVED (a
    /// JSON array of their names).
    public var approved: Set<String> = []
    private let runConfig: Value?
    /// The Dask configuration the Job's pod gets from the submitter (`DaskKubernetesConfig`).
    private let daskEnvironment: [String: String]

    public var jobName: String { Self.jobName(run: runID) }
    public static func jobName(run: String) -> String { "dkrun-\(RunLabels.short(run))" }

    /// The owner reference every object of the run gets to the run's Job.
    public static func jobOwner(name: String, uid: String) -> Value {
        ["apiVersion": "batch/v1", "kind": "Job", "name": .text(name), "uid": .text(uid), "blockOwnerDeletion": true]
    }
    public var payloadName: String { "dkrun-\(RunLabels.short(runID))-payload" }
    public var secretsName: String { Self.secretsName(run: runID) }
    public static func secretsName(run: String) -> String { "dkrun-\(RunLabels.short(run))-secrets" }

    /// The plan of a flow whose placement is Kubernetes (`FlowPlacement.decide`).
    /// - Parameters:
    ///   - tasks: where the placement says the Job's tasks run.
    ///   - image: the image of the Job and the cluster (`FlowImage.forRun`).
    ///   - environment: where Dask's configuration is read from (`DaskKubernetesConfig`).
    public init(flow: FlowSpec, tasks placement: FlowPlacement.JobTasks, runID: String, namespace: String, image: String,
                environment: [String: String]) throws {
        let env = flow.configuration["environment"]
        let runConfig = flow.configuration["run_config"]
        var pullSecrets = runConfig?["image_pull_secrets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        switch env?["image_pull_secret"] {
        case .string?: pullSecrets.append(env!["image_pull_secret"]!.stringValue!)
        case .array(let names)?: pullSecrets += names.compactMap(\.stringValue)
        default: break
        }
        var source: (String, String)?
        if env?["private_registry"] == true, let secret = env?["docker_secret"]?.stringValue {
            let name = KubeNames.dnsName(secret, dots: true)
            source = (name, secret)
            if !pullSecrets.contains(name) { pullSecrets.append(name) }
        }
        let secretNames = Set([env, runConfig].flatMap { $0?["secrets"]?.arrayValue?.compactMap(\.stringValue) ?? [] }).sorted()
        let dask = try DaskKubernetesConfig(environment: environment)

        func cluster(min: Int, max: Int) -> DaskClusterSpec {
            var spec = DaskClusterSpec(runID: runID, namespace: namespace, image: image, minWorkers: min, maxWorkers: max)
            spec.pullSecrets = pullSecrets
            if !secretNames.isEmpty { spec.secretsName = Self.secretsName(run: runID) }
            spec.env = runConfig?["env"]?.textMap ?? [:]
            if let name = dask.workerName { spec.workerNameTemplate = name }
            spec.workerTemplate = dask.workerTemplate
            return spec
        }
        switch placement {
        case .daskCluster(.daskKubernetesEnvironment):
            let type = "DaskKubernetesEnvironment"
            var spec = cluster(min: try Self.workers(env?["min_workers"] ?? 1, "\(type).min_workers", from: 0),
                               max: try Self.workers(env?["max_workers"] ?? 2, "\(type).max_workers"))
            spec.schedulerTemplate = try Self.specFile(env, "scheduler_spec", of: type, replicas: false)
            spec.workerTemplate = try Self.specFile(env, "worker_spec", of: type, replicas: true) ?? spec.workerTemplate
            spec.groups = try WorkerGroups.read(env?["worker_groups"], owner: "\(type).worker_groups", specField: "worker_spec_file") {
                name in env?["worker_group_specs"]?[name].map {
                    ($0, "\(env?["worker_groups"]?[name]?["worker_spec_file"]?.stringValue ?? "?") (\(type).worker_groups.\(name).worker_spec_file)")
                }
            }
            if let t = env?["startup_timeout"] { spec.startupTimeout = try Numbers.seconds(t, "\(type).startup_timeout", positive: true) }
            spec.env["DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING"] = env?["work_stealing"] == false ? "False" : "True"
            spec.schedulerLogs = env?["scheduler_logs"] == true
            spec.logKubernetesErrors = env?["log_k8s_errors"] == true
            tasks = .daskCluster(Self.settle(spec))
        case .daskCluster(.daskOnKubernetesEnvironment):
            let type = "DaskOnKubernetesEnvironment"
            var spec = cluster(min: 1, max: try Self.workers(env?["max_workers"] ?? 1, "\(type).max_workers"))
            if let t = env?["startup_timeout"] { spec.startupTimeout = try Numbers.seconds(t, "\(type).startup_timeout", positive: true) }
            tasks = .daskCluster(Self.settle(spec))
        case .daskCluster(.kubeClusterExecutor):
            var spec = cluster(min: 1, max: 1)
            let executor = flow.executor ?? [:]
            if DaskClusterClass.of(executor) == .operatorKube {
                try OperatorKubeCluster.apply(executor, to: &spec)
            } else {
                try KubeClusterOptions.apply(executor, to: &spec)
            }
            tasks = .daskCluster(Self.settle(spec))
        case .executor(let choice):
            tasks = .executor(choice)
        }
        if case .daskCluster(let spec) = tasks, let problem = WorkerGroups.unplaceable(flow.tasks, offers: spec.offers) {
            throw problem
        }
        self.runID = runID
        self.namespace = namespace
        flowName = flow.name
        self.image = image
        self.pullSecrets = pullSecrets
        pullSecretSource = source
        self.secretNames = secretNames
        serviceAccount = runConfig?["service_account_name"]?.stringValue
        if let template = runConfig?["job_template"] {
            let source = runConfig?["job_template_path"]?.stringValue.map { "\($0) (KubernetesRun job_template_path)" }
            try SpecChecks.checkJob(template, source ?? "KubernetesRun job_template")
        }
        self.runConfig = runConfig
        daskEnvironment = dask.jobEnvironment
    }

    /// A number of workers of the run's cluster: 1 (or `from`) to `SpecChecks.workerLimit`.
    static func workers(_ value: Value, _ field: String, from least: Int = 1) throws -> Int {
        try Numbers.integer(value, field, in: least ... SpecChecks.workerLimit)
    }

    /// The Pod spec an environment loaded from its `<name>_file`, checked.
    private static func specFile(_ env: Value?, _ name: String, of type: String, replicas: Bool) throws -> Value? {
        guard let pod = env?[name] else { return nil }
        try SpecChecks.checkPod(pod, "\(env?[name + "_file"]?.stringValue ?? "?") (\(type) \(name)_file)", replicas: replicas)
        return pod
    }

    /// Applies the precedence of the YAML specs and the Dask config over the quick
    /// configuration, and says what it did.
    private static func settle(_ spec: DaskClusterSpec) -> DaskClusterSpec {
        var spec = spec
        if let replicas = spec.workerReplicas {
            spec.notes.append("the worker spec's replicas: \(replicas) fixes the cluster at \(replicas) workers "
                + "(min_workers \(spec.minWorkers) and max_workers \(spec.maxWorkers) are overridden)")
            spec.minWorkers = replicas
            spec.maxWorkers = replicas
        } else if spec.minWorkers == spec.maxWorkers {
            spec.notes.append((spec.groups.isEmpty ? "a fixed cluster of \(spec.minWorkers) worker(s)" : "a fixed \(spec.minWorkers) default worker(s)")
                + ": min_workers = max_workers")
        } else {
            spec.notes.append("workers scale between \(spec.minWorkers) and \(spec.maxWorkers) with the scheduler's load")
        }
        spec.notes.append(spec.workerTemplate == nil ? "workers: the quick configuration (dask worker, 1 thread, 4G)"
                          : "workers: the worker spec file, with dkrun's labels, owner, tolerations and pull secrets added")
        if let template = spec.workerTemplate { spec.notes += WorkerResources.warnings(template) }
        for group in spec.groups {
            spec.notes.append("worker group \(group.name): \(group.minWorkers) to \(group.maxWorkers) workers, scaled from the "
                + "tasks that need its resources (\(group.resources.isEmpty ? "none" : group.resourcesArgument)); its pods: "
                + (group.template == nil ? "the default workers' spec" : "its own spec") + ", labelled \(WorkerGroup.label)=\(group.name)")
            if let template = group.template { spec.notes += WorkerResources.warnings(template).map { "worker group \(group.name): " + $0 } }
        }
        spec.notes.append(spec.schedulerTemplate == nil ? "scheduler: the quick configuration (dask scheduler)"
                          : "scheduler: the scheduler spec file, with dkrun's labels, owner and pull secrets added")
        return spec
    }

    // MARK: The objects the user's dkrun makes

    private func metadata(_ name: String, component: String) -> Value {
        ["name": .text(name), "namespace": .text(namespace), "labels": RunLabels.of(run: runID, component: component),
         "annotations": ["dkrun.io/flow": .text(flowName)]]
    }

    /// The payload, as binary data of a ConfigMap the Job's pod mounts.
    public func payloadConfigMap(_ payload: [UInt8]) throws -> Value {
        guard payload.count <= Self.configMapLimit else {
            throw FlowError("flow '\(flowName)': its payload is \(payload.count) bytes, and a ConfigMap holds at most "
                + "1 MiB: keep large data out of the flow's constants and parameters (read it in a task)")
        }
        return ["apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(payloadName, component: "payload"),
                "binaryData": [.text(Self.payloadFile): .text(Base64.encode(payload))]]
    }

    /// The Job whose pod runs the flow: KubernetesRun's job template when there is one, its
    /// image, env, resources, service account and pull policy.
    /// - Parameter ttl: seconds Kubernetes keeps the finished Job (and what it owns). dkrun
    ///   following the run deletes it at the end; the TTL removes it when nobody follows.
    public func job(ttl: Int) -> Value {
        let template = runConfig?["job_template"]
        var job = template ?? [:]
        job["apiVersion"] = "batch/v1"
        job["kind"] = "Job"
        var meta = metadata(jobName, component: "job")
        meta["labels"] = RunLabels.over(template?["metadata"]?["labels"], run: runID, component: "job")
        job["metadata"] = meta
        var spec = job["spec"] ?? [:]
        spec["backoffLimit"] = 0  // a second try would run every task again
        spec["ttlSecondsAfterFinished"] = .int(Int64(ttl))
        var podTemplate = spec["template"] ?? [:]
        var podMeta = podTemplate["metadata"] ?? [:]
        podMeta["labels"] = RunLabels.over(podMeta["labels"], run: runID, component: "job")
        podTemplate["metadata"] = podMeta
        var pod = podTemplate["spec"] ?? [:]
        pod["restartPolicy"] = "Never"
        if let serviceAccount { pod["serviceAccountName"] = .text(serviceAccount) }
        if !pullSecrets.isEmpty { pod["imagePullSecrets"] = .array(pullSecrets.map { ["name": .text($0)] }) }
        pod["volumes"] = .array((pod["volumes"]?.arrayValue ?? [])
            + [["name": "dkrun-payload", "configMap": ["name": .text(payloadName)]]]
            + (secretNames.isEmpty ? [] : [RunSecretsVolume.volume(secret: secretsName)]))

        var containers = pod["containers"]?.arrayValue ?? []
        if containers.isEmpty { containers = [[:]] }
        var c = containers[0]
        if c["name"] == nil { c["name"] = "flow" }
        c["image"] = .text(image)
        if let policy = runConfig?["image_pull_policy"] { c["imagePullPolicy"] = policy }
        c["command"] = ["dkrun", "k8s", "flow-run", .text(Self.payloadDirectory + "/" + Self.payloadFile)]
        var env = c["env"]?.arrayValue ?? []
        // DKRUN_IMAGE: the pod's own FlowImage decision comes to the same image for the cluster.
        let ours: [(String, String)] = [("DKRUN_RUN_ID", runID), ("DKRUN_JOB_NAME", jobName), ("DKRUN_IMAGE", image)]
            + (resumes.map { [("DKRUN_RESUMES", $0)] } ?? [])
            + (approved.isEmpty ? [] : [("DKRUN_APPROVED", JSON.encode(.array(approved.sorted().map(Value.text))))])
            + daskEnvironment.filter { runConfig?["env"]?[$0.key] == nil }.sorted { $0.key < $1.key }
            + (runConfig?["env"]?.textMap ?? [:]).sorted { $0.key < $1.key }
        for (k, v) in ours { env.append(["name": .text(k), "value": .text(v)]) }
        c["env"] = .array(env)
        var resources = c["resources"] ?? [:]
        for (field, section, name) in [("cpu_limit", "limits", "cpu"), ("memory_limit", "limits", "memory"),
                                       ("cpu_request", "requests", "cpu"), ("memory_request", "requests", "memory")] {
            if let v = runConfig?[field] {
                var s = resources[section] ?? [:]
                s[name] = v
                resources[section] = s
            }
        }
        if resources.mapValue?.isEmpty == false { c["resources"] = resources }
        c["volumeMounts"] = .array((c["volumeMounts"]?.arrayValue ?? [])
            + [["name": "dkrun-payload", "mountPath": .text(Self.payloadDirectory), "readOnly": true]]
            + (secretNames.isEmpty ? [] : [RunSecretsVolume.mount]))
        containers[0] = c
        pod["containers"] = .array(containers)
        podTemplate["spec"] = pod
        spec["template"] = podTemplate
        job["spec"] = spec
        return job
    }

    /// The Kubernetes Secret holding the run's dkrun secrets, each under its name.
    /// - Parameter values: the value of each of `secretNames`.
    public func runSecret(_ values: [String: String]) -> Value {
        ["apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata(secretsName, component: "secrets"),
         "data": Value(texts: values.mapValues { Base64.encode(Array($0.utf8)) })]
    }

    /// The image pull secret made from a dkrun secret holding docker-server,
    /// docker-username, docker-password and docker-email (YAML or JSON).
    public func pullSecret(credentials text: String, from secret: String) throws -> Value {
        guard let source = pullSecretSource else { throw FlowError("flow '\(flowName)' has no private_registry") }
        let creds: Value
        do { creds = try YAML.load(text, source: "secret \(secret)") } catch {
            throw FlowError("secret '\(secret)' (docker_secret) must map docker-server, docker-username, docker-password "
                + "and docker-email: it is not YAML or JSON")
        }
        var fields: [String: String] = [:]
        for key in ["docker-server", "docker-username", "docker-password", "docker-email"] {
            guard let v = creds[key]?.stringValue ?? creds[key]?.intValue.map(String.init) else {
                throw FlowError("secret '\(secret)' (docker_secret) has no \(key): it must map docker-server, "
                    + "docker-username, docker-password and docker-email")
            }
            fields[key] = v
        }
        let auth = Base64.encode(Array("\(fields["docker-username"]!):\(fields["docker-password"]!)".utf8))
        let config: Value = ["auths": [.text(fields["docker-server"]!): [
            "username": .text(fields["docker-username"]!), "password": .text(fields["docker-password"]!),
            "email": .text(fields["docker-email"]!), "auth": .text(auth)]]]
        return ["apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                "metadata": metadata(source.name, component: "pull-secret"),
                "data": [".dockerconfigjson": .text(Base64.encode(Array(JSON.encode(config).utf8)))]]
    }
}

/// The volume of a run's Secret (`FlowRunPlan.runSecret`) and its mount, read-only where
/// `dk.secrets` looks by default: on the Job's pod and on the first container of every Dask pod.
enum RunSecretsVolume {
    static let name = "dkrun-secrets"

    static func volume(secret: String) -> Value { ["name": .text(name), "secret": ["secretName": .text(secret)]] }

    static let mount: Value = ["name": .text(name), "mountPath": .text(SecretStore.defaultDirectory), "readOnly": true]
}

/// DaskExecutor's `cluster_kwargs` and `adapt_kwargs` for dask-kubernetes' classic
/// KubeCluster, the Prefect 1.x spelling of the per-run cluster (the operator's:
/// `OperatorKubeCluster`).
enum KubeClusterOptions {
    static let clusterKeys = ["pod_template", "scheduler_pod_template", "name", "n_workers", "env", "image",
                              "startup_timeout", "namespace", "worker_groups"]
    static let adaptKeys = ["minimum", "maximum", "interval", "wait_count"]

    static func apply(_ executor: Value, to spec: inout DaskClusterSpec) throws {
        let kwargs = executor["cluster_kwargs"] ?? [:]
        let adapt = executor["adapt_kwargs"] ?? [:]
        for (keys, value, field) in [(clusterKeys, kwargs, "cluster_kwargs"), (adaptKeys, adapt, "adapt_kwargs")] {
            for key in (value.mapValue ?? [:]).keys.compactMap(\.stringValue) where !keys.contains(key) {
                throw FlowError("DaskExecutor \(field).\(key): KubeCluster has no such option (it has \(keys.joined(separator: ", ")))")
            }
        }
        func pod(_ key: String) throws -> Value? {
            guard let v = kwargs[key] else { return nil }
            guard v.mapValue != nil else {
                throw FlowError("DaskExecutor cluster_kwargs.\(key) must be a Pod spec table (load a file with dk.yaml.load_file)")
            }
            try SpecChecks.checkPod(v, "DaskExecutor cluster_kwargs.\(key)", replicas: key == "pod_template")
            return v
        }
        spec.workerTemplate = try pod("pod_template") ?? spec.workerTemplate
        spec.schedulerTemplate = try pod("scheduler_pod_template")
        if let name = kwargs["name"]?.stringValue { spec.workerNameTemplate = name }
        if let image = kwargs["image"]?.stringValue { spec.image = image }
        if let ns = kwargs["namespace"]?.stringValue { spec.namespace = ns }
        if let t = kwargs["startup_timeout"] {
            spec.startupTimeout = try Numbers.seconds(t, "DaskExecutor cluster_kwargs.startup_timeout", positive: true)
        }
        spec.env.merge(kwargs["env"]?.textMap ?? [:]) { $1 }
        spec.groups = try WorkerGroups.read(kwargs["worker_groups"], owner: "DaskExecutor cluster_kwargs.worker_groups",
                                            specField: "pod_template") { name in
            kwargs["worker_groups"]?[name]?["pod_template"].map { ($0, "DaskExecutor cluster_kwargs.worker_groups.\(name).pod_template") }
        }
        try size(&spec, workers: try Numbers.integer(kwargs["n_workers"] ?? 1, "DaskExecutor cluster_kwargs.n_workers",
                                                     in: 0 ... SpecChecks.workerLimit), adapt: adapt)
    }

    /// The cluster's bounds: `n` workers (0, dask-kubernetes' default, makes one: a flow run
    /// needs one), or adaptive within `adapt_kwargs` when they are given.
    static func size(_ spec: inout DaskClusterSpec, workers n: Int, adapt: Value) throws {
        if adapt.mapValue?.isEmpty ?? true {
            spec.minWorkers = max(n, 1)
            spec.maxWorkers = max(n, 1)
        } else {
            spec.minWorkers = try Numbers.integer(adapt["minimum"] ?? 0, "DaskExecutor adapt_kwargs.minimum", in: 0 ... SpecChecks.workerLimit)
            spec.maxWorkers = try FlowRunPlan.workers(adapt["maximum"] ?? .int(Int64(max(spec.minWorkers, 1))), "DaskExecutor adapt_kwargs.maximum")
            guard spec.maxWorkers >= spec.minWorkers else {
                throw FlowError("DaskExecutor adapt_kwargs: maximum (\(spec.maxWorkers)) is less than minimum (\(spec.minWorkers))")
            }
            if let i = adapt["interval"] { spec.reportInterval = try Numbers.seconds(i, "DaskExecutor adapt_kwargs.interval", positive: true) }
            if let w = adapt["wait_count"] {
                spec.scaleDownReports = try Numbers.integer(w, "DaskExecutor adapt_kwargs.wait_count", in: 1 ... 1_000_000)
            }
        }
    }
}
