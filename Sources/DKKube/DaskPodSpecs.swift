import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// The labels every object of a flow run carries, and the selectors that find them.
public enum RunLabels {
    public static let managedBy = "app.kubernetes.io/managed-by"
    public static let flowRun = "dkrun.io/flow-run"
    public static let component = "dkrun.io/component"
    /// dask-kubernetes' own label, so its users' selectors and dashboards still work.
    public static let daskComponent = "dask.org/component"

    public static func of(run: String, component: String) -> Value {
        var labels: Value = [.text(managedBy): "dkrun", .text(flowRun): .text(run), .text(Self.component): .text(component)]
        if component == "scheduler" || component == "worker" { labels[daskComponent] = .text(component) }
        return labels
    }

    /// A template's labels (a map, or nil) with the run's over them.
    public static func over(_ labels: Value?, run: String, component: String) -> Value {
        var merged = labels?.mapValue ?? [:]
        merged.merge(of(run: run, component: component).mapValue ?? [:]) { $1 }
        return .map(merged)
    }

    public static func selector(run: String, component: String? = nil) -> String {
        "\(managedBy)=dkrun,\(flowRun)=\(run)" + (component.map { ",\(Self.component)=\($0)" } ?? "")
    }

    /// Every object of every flow run.
    public static let allRuns = "\(managedBy)=dkrun,\(flowRun)"

    /// The short form of a run id that object names use.
    public static func short(_ run: String) -> String { RunIDPrefix.short(run) }
}

/// The Dask cluster dkrun makes on Kubernetes for one flow run, as dask-kubernetes' classic
/// KubeCluster makes it: a scheduler pod and its Service, and plain worker pods, from the
/// quick configuration or from the user's Pod specs (which take precedence), with the
/// defaults seed `dask-kubernetes.txt` gives. Pure: it only builds objects.
public struct DaskClusterSpec: Sendable {
    public var runID: String
    public var namespace: String
    /// The flow's image: containers of the specs that name none get it.
    public var image: String
    public var minWorkers: Int
    public var maxWorkers: Int
    public var schedulerTemplate: Value?
    public var workerTemplate: Value?
    /// The named worker groups beside the default workers (`minWorkers` to `maxWorkers` of
    /// `workerTemplate`), each sized from the tasks that need its resources.
    public var groups: [WorkerGroup] = []
    public var pullSecrets: [String] = []
    /// The run's Secret of dkrun secrets (`FlowRunPlan.runSecret`), mounted on every pod; nil: none.
    public var secretsName: String?
    /// Environment variables every pod gets (KubernetesRun env, KubeCluster env).
    public var env: [String: String] = [:]
    /// Dask's `kubernetes.worker-name`: `{user}`, `{uuid}` and environment variables.
    public var workerNameTemplate = "dask-{user}-{uuid}"
    /// The scheduler Service's type (the operator KubeCluster's scheduler_service_type); nil:
    /// Kubernetes' default, ClusterIP.
    public var schedulerServiceType: String?
    /// How long a pod may take to start before the run fails (seconds).
    public var startupTimeout = 300.0
    /// How often the driver reports the workers, and how many reports in a row must want
    /// fewer workers before some are retired (Dask Adaptive's interval and wait_count).
    public var reportInterval = 1.0
    public var scaleDownReports = 3
    /// DaskKubernetesEnvironment's scheduler_logs: the scheduler's log joins the run's at its end.
    public var schedulerLogs = false
    /// DaskKubernetesEnvironment's log_k8s_errors: the Warning events of the run's pods join
    /// the run's log as they happen.
    public var logKubernetesErrors = false
    /// The ownerReference (to the run's Job) every object gets, once the Job exists.
    public var owner: Value?
    /// What the configuration decided, in words, for `--dry-run`.
    public var notes: [String] = []

    public init(runID: String, namespace: String, image: String, minWorkers: Int, maxWorkers: Int) {
        self.runID = runID
        self.namespace = namespace
        self.image = image
        self.minWorkers = minWorkers
        self.maxWorkers = maxWorkers
    }

    public var schedulerName: String { "dkrun-\(RunLabels.short(runID))-scheduler" }
    public static let schedulerPort = 8786
    public static let dashboardPort = 8787
    public static let defaultTolerations: [Value] = [
        ["key": "k8s.dask.org/dedicated", "operator": "Equal", "value": "worker", "effect": "NoSchedule"],
        ["key": "k8s.dask.org_dedicated", "operator": "Equal", "value": "worker", "effect": "NoSchedule"],
    ]

    public func schedulerPod() -> Value {
        let container: Value = [
            "name": "dask-scheduler", "image": .text(image),
            "args": ["dask", "scheduler", "--port", .text(String(Self.schedulerPort)),
                     "--dashboard-address", .text(":\(Self.dashboardPort)")],
            "ports": [["name": "tcp-comm", "containerPort": .int(Int64(Self.schedulerPort))],
                      ["name": "http-dashboard", "containerPort": .int(Int64(Self.dashboardPort))]],
        ]
        return pod(schedulerTemplate, name: schedulerName, component: "scheduler", defaultContainer: container, extraEnv: [:])
    }

    public func schedulerService() -> Value {
        var metadata: Value = ["name": .text(schedulerName), "namespace": .text(namespace),
                               "labels": RunLabels.of(run: runID, component: "scheduler")]
        if let owner { metadata["ownerReferences"] = [owner] }
        var spec: Value = ["selector": [.text(RunLabels.flowRun): .text(runID), .text(RunLabels.component): "scheduler"],
                           "ports": [["name": "tcp-comm", "port": .int(Int64(Self.schedulerPort)),
                                      "targetPort": .int(Int64(Self.schedulerPort))],
                                     ["name": "http-dashboard", "port": .int(Int64(Self.dashboardPort)),
                                      "targetPort": .int(Int64(Self.dashboardPort))]]]
        if let schedulerServiceType { spec["type"] = .text(schedulerServiceType) }
        return ["apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec]
    }

    /// Keeps voluntary evictions (a node drain) from taking the scheduler mid-run, as
    /// dask-kubernetes does: losing it loses the run.
    /// The scheduler's dashboard through the API server's service proxy (what `kubectl proxy`
    /// serves under its address), ending in "/".
    public var dashboardProxyPath: String { Self.dashboardProxyPath(namespace: namespace, service: schedulerName) }

    public static func dashboardProxyPath(namespace: String, service: String) -> String {
        "/api/v1/namespaces/\(namespace)/services/\(service):http-dashboard/proxy/"
    }

    /// The namespace and scheduler Service of the first dashboard proxy path in `text` (the
    /// line a run logs with it): how `dkrun k8s dashboard RUN` finds a run's dashboard.
    public static func dashboardService(in text: String) -> (namespace: String, service: String)? {
        text.firstMatch(of: #/\/api\/v1\/namespaces\/([^\/\s]+)\/services\/([^\/:\s]+):http-dashboard\/proxy\//#)
            .map { (String($0.output.1), String($0.output.2)) }
    }

    public func schedulerDisruptionBudget() -> Value {
        var metadata: Value = ["name": .text(schedulerName), "namespace": .text(namespace),
                               "labels": RunLabels.of(run: runID, component: "scheduler")]
        if let owner { metadata["ownerReferences"] = [owner] }
        return ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata,
                "spec": ["maxUnavailable": 0,
                         "selector": ["matchLabels": [.text(RunLabels.flowRun): .text(runID), .text(RunLabels.component): "scheduler"]]]]
    }

    /// A worker pod of `group` (nil: the default workers): the group's spec, else the default
    /// workers' spec, else the quick configuration's worker (one thread, resources matching
    /// --nthreads and --memory-limit, and --death-timeout so it goes if the scheduler does).
    /// A named group's pods declare its resources (`--resources`, over any the spec has).
    /// Every worker gets DASK_WORKER_NAME, its pod's name, as the Dask operator gives it (the
    /// operator's worker command names the worker `$(DASK_WORKER_NAME)`).
    public func workerPod(name: String, schedulerAddress: String, group: WorkerGroup? = nil) -> Value {
        let resources: Value = ["cpu": "1", "memory": "4G"]
        let container: Value = [
            "name": "dask-worker", "image": .text(image),
            "args": ["dask", "worker", "--nthreads", "1", "--memory-limit", "4G", "--no-dashboard", "--death-timeout", "60"],
            "resources": ["limits": resources, "requests": resources],
        ]
        var pod = pod(group?.template ?? workerTemplate, name: name, component: "worker", defaultContainer: container,
                      extraEnv: ["DASK_SCHEDULER_ADDRESS": schedulerAddress, "DASK_WORKER_NAME": name])
        pod["metadata"]?["labels"]?[WorkerGroup.label] = .text(group?.name ?? WorkerGroup.defaultName)
        if let group, !group.resources.isEmpty, var containers = pod["spec"]?["containers"]?.arrayValue, !containers.isEmpty {
            Self.declare(group.resourcesArgument, in: &containers[0])
            pod["spec"]?["containers"] = .array(containers)
        }
        return pod
    }

    /// Sets `--resources` in a worker container's command line: in `args` when it has them
    /// (the program may be in `command`), else in `command`.
    private static func declare(_ resources: String, in container: inout Value) {
        let field = container["args"] != nil || container["command"] == nil ? "args" : "command"
        var argv = container[field]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let i = argv.firstIndex(where: { $0.hasPrefix("--resources=") }) {
            argv.remove(at: i)
        } else if let i = argv.firstIndex(of: "--resources") {
            argv.removeSubrange(i ..< min(i + 2, argv.count))
        }
        container[field] = .array((argv + ["--resources", resources]).map(Value.text))
    }

    /// The default workers as a group.
    public var defaultGroup: WorkerGroup {
        WorkerGroup(name: WorkerGroup.defaultName, minWorkers: minWorkers, maxWorkers: maxWorkers,
                    resources: WorkerGroups.declared(in: workerTemplate), template: workerTemplate)
    }

    /// What a worker of each group declares (`--resources`), the default group's included.
    public var offers: [String: [String: Double]] {
        var out = [WorkerGroup.defaultName: WorkerGroups.declared(in: workerTemplate)]
        for group in groups { out[group.name] = group.resources.isEmpty ? WorkerGroups.declared(in: group.template ?? workerTemplate) : group.resources }
        return out
    }

    /// The worker spec's `replicas` (not a Pod field: dkrun takes it out), as `SpecChecks` let it in.
    public var workerReplicas: Int? {
        (workerTemplate?["spec"]?["replicas"]).flatMap { try? Numbers.integer($0, "replicas", in: 1 ... SpecChecks.workerLimit) }
    }

    /// A new worker pod's name: the template with a fresh `{uuid}`.
    public func newWorkerName(user: String, environment: [String: String]) -> String {
        workerName(user: user, uuid: String(UUID4.make().filter { $0 != "-" }.prefix(10)),
                   environment: environment)
    }

    /// `{user}` of the name template: $USER, else the account this process runs as.
    public static func user(environment: [String: String]) -> String {
        environment["USER"] ?? getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "dask"
    }

    /// A worker pod's name from the template: `{user}`, `{uuid}` and `{VARIABLE}`s (the
    /// pods' env over `environment`), made a valid DNS-1123 name.
    public func workerName(user: String, uuid: String, environment: [String: String]) -> String {
        let environment = environment.merging(env) { $1 }
        var name = ""
        var rest = Substring(workerNameTemplate)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            name += rest[..<open]
            let key = String(rest[rest.index(after: open) ..< close])
            name += key == "user" ? user : key == "uuid" ? uuid : environment[key] ?? ""
            rest = rest[rest.index(after: close)...]
        }
        name += rest
        return KubeNames.dnsName(name)
    }

    /// A pod from the user's template, or the default container alone, with what dkrun
    /// always adds: name, labels, owner, restartPolicy Never unless set, the default
    /// tolerations, pull secrets, the run's Secret (mounted on the first container), the pods'
    /// environment and today's Dask command names.
    private func pod(_ template: Value?, name: String, component: String, defaultContainer: Value,
                     extraEnv: [String: String]) -> Value {
        var metadata = template?["metadata"] ?? [:]
        metadata["labels"] = RunLabels.over(metadata["labels"], run: runID, component: component)
        metadata["name"] = .text(name)
        metadata["namespace"] = .text(namespace)
        metadata["generateName"] = nil
        if let owner { metadata["ownerReferences"] = [owner] }

        var spec = template?["spec"] ?? [:]
        spec["replicas"] = nil
        if spec["restartPolicy"] == nil { spec["restartPolicy"] = "Never" }
        var tolerations = spec["tolerations"]?.arrayValue ?? []
        for t in Self.defaultTolerations where !tolerations.contains(t) { tolerations.append(t) }
        spec["tolerations"] = .array(tolerations)
        var secrets = spec["imagePullSecrets"]?.arrayValue ?? []
        for s in pullSecrets where !secrets.contains(where: { $0["name"]?.stringValue == s }) { secrets.append(["name": .text(s)]) }
        if !secrets.isEmpty { spec["imagePullSecrets"] = .array(secrets) }
        if let secretsName {
            spec["volumes"] = .array((spec["volumes"]?.arrayValue ?? []) + [RunSecretsVolume.volume(secret: secretsName)])
        }

        var containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { containers = [defaultContainer] }
        for i in containers.indices {
            var c = containers[i]
            if c["image"] == nil { c["image"] = .text(image) }
            if i == 0 {
                var vars = c["env"]?.arrayValue ?? []
                for (k, v) in (env.merging(extraEnv) { $1 }).sorted(by: { $0.key < $1.key })
                    where !vars.contains(where: { $0["name"]?.stringValue == k }) {
                    vars.append(["name": .text(k), "value": .text(v)])
                }
                if !vars.isEmpty { c["env"] = .array(vars) }
                if secretsName != nil { c["volumeMounts"] = .array((c["volumeMounts"]?.arrayValue ?? []) + [RunSecretsVolume.mount]) }
                DaskCommand.modernise(&c)
            }
            containers[i] = c
        }
        spec["containers"] = .array(containers)
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec]
    }
}

/// Command names and options of Dask that are gone today, in the specs of seeds and old
/// clusters: `dask-worker` and `dask-scheduler` are `dask worker` and `dask scheduler`,
/// `--no-bokeh` is `--no-dashboard`, `--bokeh-port N` is `--dashboard-address :N`.
public enum DaskCommand {
    public static func modernise(_ container: inout Value) {
        for field in ["command", "args"] {
            guard let argv = container[field]?.arrayValue?.compactMap(\.stringValue), !argv.isEmpty else { continue }
            var out: [String] = []
            var i = 0
            while i < argv.count {
                let a = argv[i]
                if i == 0 && (a == "dask-worker" || a == "dask-scheduler") {
                    out += ["dask", String(a.dropFirst("dask-".count))]
                } else if a == "--no-bokeh" {
                    out.append("--no-dashboard")
                } else if a == "--bokeh-port", i + 1 < argv.count {
                    out += ["--dashboard-address", ":" + argv[i + 1]]
                    i += 1
                } else {
                    out.append(a)
                }
                i += 1
            }
            container[field] = .array(out.map(Value.text))
            return  // the program is in command when it is there, else in args
        }
    }
}

/// The advice of seed `dask-kubernetes.txt`: a worker's `--nthreads` and `--memory-limit`
/// should match its pod's CPU and memory, or workers pack onto nodes they overwhelm and get
/// killed (KilledWorker). Says where a worker spec does not follow it.
public enum WorkerResources {
    public static func warnings(_ pod: Value) -> [String] {
        guard let container = pod["spec"]?["containers"]?.arrayValue?.first else { return [] }
        let argv = ((container["command"]?.arrayValue ?? []) + (container["args"]?.arrayValue ?? [])).compactMap(\.stringValue)
        func option(_ name: String) -> String? {
            argv.firstIndex(of: name).flatMap { $0 + 1 < argv.count ? argv[$0 + 1] : nil }
        }
        let resources = container["resources"]
        func resource(_ name: String) -> (String, Double)? {
            for section in ["limits", "requests"] {
                if let text = resources?[section]?[name]?.stringValue ?? resources?[section]?[name]?.numberValue.map({ String($0) }),
                   let value = quantity(text) {
                    return (text, value)
                }
            }
            return nil
        }
        var out: [String] = []
        if let text = option("--nthreads"), let threads = Double(text), let (cpuText, cpu) = resource("cpu"), abs(threads - cpu) > 0.01 {
            out.append("warning: the worker spec runs --nthreads \(text) on \(cpuText) CPU: make them match, or workers "
                + "overload their nodes (seed dask-kubernetes.txt)")
        }
        if let text = option("--memory-limit"), let memory = daskBytes(text), let (limitText, limit) = resource("memory"),
           abs(memory - limit) > 0.05 * limit {
            out.append("warning: the worker spec gives Dask --memory-limit \(text) and its pod \(limitText) of memory: make "
                + "them match, or the kernel kills workers Dask thinks have room (KilledWorker)")
        }
        return out
    }

    /// A Kubernetes quantity ("500m", "2", "4G", "4Gi", "1e3") as a number.
    public static func quantity(_ text: String) -> Double? {
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                         ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(text)
    }

    /// Dask's byte strings ("4GB", "6GiB", "4G", "512MB", a number of bytes); nil for "auto" or 0.
    public static func daskBytes(_ text: String) -> Double? {
        let lower = text.lowercased().filter { $0 != " " }
        let units: [(String, Double)] = [("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
                                         ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12),
                                         ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12), ("b", 1)]
        for (suffix, scale) in units where lower.hasSuffix(suffix) {
            return Double(lower.dropLast(suffix.count)).flatMap { $0 > 0 ? $0 * scale : nil }
        }
        return Double(lower).flatMap { $0 > 0 ? $0 : nil }
    }
}
