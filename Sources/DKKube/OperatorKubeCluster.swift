import DKCore

/// DaskExecutor's `cluster_kwargs` for dask-kubernetes' operator KubeCluster
/// (`dask_kubernetes.operator.KubeCluster`), mapped onto the pods dkrun makes itself: dkrun
/// runs no operator and makes no DaskCluster resource. The keyword arguments become the
/// DaskCluster resource `make_cluster_spec` makes of them (`resource(from:)`), and that, or
/// the user's `custom_cluster_spec`, becomes the run's scheduler and worker pods (`read`):
/// one reading for both spellings. Every argument and field is honoured or refused by name
/// (docs/kubernetes.md, "The operator's KubeCluster").
enum OperatorKubeCluster {
    static let owner = "DaskExecutor cluster_kwargs"

    /// The arguments dkrun honours.
    static let honoured = ["name", "namespace", "image", "n_workers", "resources", "env", "worker_command",
                           "scheduler_service_type", "custom_cluster_spec", "resource_timeout", "idle_timeout", "shutdown_on_close"]
    /// Those the operator's KubeCluster still reads beside `custom_cluster_spec` (the others
    /// only make the resource it replaces).
    static let besideCustomSpec: Set = ["custom_cluster_spec", "namespace", "resource_timeout", "shutdown_on_close"]
    /// The operator KubeCluster's other arguments, and why dkrun refuses each.
    static let refused: [String: String] = [
        "create_mode": "dkrun makes a new cluster for every run and never connects to an existing one (to join a cluster, "
            + "give DaskExecutor an address instead)",
        "port_forward_cluster_ip": "the run's client is in the run's Job, inside the cluster, so nothing is forwarded",
        "scheduler_forward_port": "the run's client is in the run's Job, inside the cluster, so nothing is forwarded "
            + "(`dkrun k8s dashboard RUN` serves the dashboard here)",
        "jupyter": "dkrun's scheduler pod runs the Dask scheduler only",
        "quiet": "it is about the output of a Python process that dkrun does not run",
        "asynchronous": "it is about the output of a Python process that dkrun does not run",
        "loop": "it is about the output of a Python process that dkrun does not run",
        "worker_groups": "the operator's KubeCluster adds worker groups after it starts (add_worker_group), which a flow cannot "
            + "call: give worker_groups to the classic KubeCluster (cluster_class = \"KubeCluster\") or DaskKubernetesEnvironment",
    ]
    static let serviceTypes = ["ClusterIP", "NodePort", "LoadBalancer"]
    static let workerDashboardPort = 8788

    static func apply(_ executor: Value, to spec: inout DaskClusterSpec) throws {
        let kwargs = executor["cluster_kwargs"] ?? [:]
        let adapt = executor["adapt_kwargs"] ?? [:]
        let given = keys(of: kwargs)
        for key in given where !honoured.contains(key) {
            if let why = refused[key] { throw FlowError("\(owner).\(key): dkrun does not take it: \(why)") }
            throw FlowError("\(owner).\(key): the operator's KubeCluster has no such argument (dkrun takes \(honoured.joined(separator: ", ")))")
        }
        for key in keys(of: adapt) where !["minimum", "maximum"].contains(key) {
            throw FlowError("DaskExecutor adapt_kwargs.\(key): the operator's KubeCluster.adapt takes minimum and maximum only")
        }
        if let ns = kwargs["namespace"] { spec.namespace = try text(ns, "namespace") }
        if let t = kwargs["resource_timeout"] {
            spec.startupTimeout = try Numbers.seconds(t, "\(owner).resource_timeout", positive: true)
        }
        if let close = kwargs["shutdown_on_close"], close != true {
            throw FlowError("\(owner).shutdown_on_close: dkrun deletes the run's cluster when the run ends; a cluster that "
                + "outlives its run is a static one (`dkrun k8s static-cluster`, DaskExecutor address)")
        }
        let resource: Value
        let source: String
        if let custom = kwargs["custom_cluster_spec"] {
            if let other = given.first(where: { !besideCustomSpec.contains($0) }) {
                throw FlowError("\(owner).\(other): beside custom_cluster_spec the operator's KubeCluster does not read it (the "
                    + "spec is the whole cluster): set it in the spec")
            }
            // A path: the prelude loaded the file as the executor's custom_cluster_spec.
            if let path = custom.stringValue, let loaded = executor["custom_cluster_spec"] {
                resource = loaded
                source = "\(path) (\(owner).custom_cluster_spec)"
            } else if custom.mapValue != nil {
                resource = custom
                source = "\(owner).custom_cluster_spec"
            } else {
                throw FlowError("\(owner).custom_cluster_spec: a DaskCluster resource (a table) or its YAML file's path expected, "
                    + "got \(custom.typeNameWithArticle)")
            }
        } else {
            resource = try self.resource(from: kwargs)
            source = owner
        }
        try read(resource, source: source, adapt: adapt, into: &spec)
        if let image = kwargs["image"] { spec.image = try text(image, "image") }
    }

    /// The DaskCluster resource `make_cluster_spec` makes of the arguments: the operator's
    /// worker and scheduler containers, without an image (dkrun gives the flow's, or `image`)
    /// and without the scheduler's probes (dkrun waits for its port itself).
    static func resource(from kwargs: Value) throws -> Value {
        var env: Value?
        switch kwargs["env"] {
        case nil: break
        case .array(let items)?:
            for (i, item) in items.enumerated() where item["name"]?.stringValue == nil {
                throw FlowError("\(owner).env[\(i + 1)]: an environment variable ({ name = ..., value = ... }) expected, got "
                    + (item.mapValue == nil ? item.typeNameWithArticle : "no name"))
            }
            env = items.isEmpty ? nil : .array(items)
        case .map(let map)?:
            var vars: [Value] = []
            for (key, value) in Value.map(map).sortedEntries {
                guard let name = key.stringValue, value.stringValue != nil else {
                    throw FlowError("\(owner).env.\(key.stringValue ?? JSON.encode(key)): a string expected, got \(value.typeNameWithArticle)")
                }
                vars.append(["name": .text(name), "value": value])
            }
            env = .array(vars)
        case let other?:
            throw FlowError("\(owner).env: a table of strings by name, or a list of { name = ..., value = ... }, expected, got "
                + other.typeNameWithArticle)
        }
        var resources: Value?
        if let r = kwargs["resources"], r.arrayValue?.isEmpty != true {
            guard r.mapValue != nil else { throw FlowError("\(owner).resources: a table expected, got \(r.typeNameWithArticle)") }
            for (key, value) in r.sortedEntries {
                let name = key.stringValue ?? JSON.encode(key)
                guard name == "limits" || name == "requests" else {
                    throw FlowError("\(owner).resources.\(name): the operator's resources are a container's Kubernetes resources, "
                        + "limits and requests (resources = { limits = { cpu = \"1\", memory = \"4G\" } }); a task's Dask resources "
                        + "go in the task's resources option")
                }
                guard value.mapValue != nil else { throw FlowError("\(owner).resources.\(name): a table expected, got \(value.typeNameWithArticle)") }
            }
            resources = r
        }
        var command = ["dask-worker"]
        switch kwargs["worker_command"] {
        case nil: break
        case .string?: command = kwargs["worker_command"]!.stringValue!.split(separator: " ").map(String.init)
        case .array(let words)? where words.allSatisfy({ $0.stringValue != nil }): command = words.compactMap(\.stringValue)
        case let other?:
            throw FlowError("\(owner).worker_command: a string or a list of strings expected, got \(other.typeNameWithArticle)")
        }
        guard !command.isEmpty else { throw FlowError("\(owner).worker_command: a command expected, got none") }
        var serviceType = "ClusterIP"
        if let t = kwargs["scheduler_service_type"] {
            serviceType = try text(t, "scheduler_service_type")
            guard serviceTypes.contains(serviceType) else {
                throw FlowError("\(owner).scheduler_service_type: one of \(serviceTypes.joined(separator: ", ")) expected, got \"\(serviceType)\"")
            }
        }
        let name = try text(kwargs["name"] ?? "dask-{user}-{uuid}", "name")  // the operator's default (kubernetes.name)
        guard !name.isEmpty else { throw FlowError("\(owner).name: the cluster's name expected, got \"\"") }
        // No n_workers is the operator's default, 0 (Dask config kubernetes.count.start).
        let replicas = try Numbers.integer(kwargs["n_workers"] ?? 0, "\(owner).n_workers", in: 0 ... SpecChecks.workerLimit)
        let idle = try Numbers.integer(kwargs["idle_timeout"] ?? 0, "\(owner).idle_timeout", in: 0 ... Int(Int32.max))

        func container(_ name: String, args: [String], ports: [(String, Int)]) -> Value {
            var c: Value = ["name": .text(name), "args": .array(args.map(Value.text)),
                            "ports": .array(ports.map { ["name": .text($0.0), "containerPort": .int(Int64($0.1)), "protocol": "TCP"] })]
            if let env { c["env"] = env }
            if let resources { c["resources"] = resources }
            return c
        }
        let worker = container("worker", args: command + ["--name", "$(DASK_WORKER_NAME)", "--dashboard", "--dashboard-address",
                                                          String(workerDashboardPort)],
                               ports: [("http-dashboard", workerDashboardPort)])
        let scheduler = container("scheduler", args: ["dask-scheduler", "--host", "0.0.0.0"],
                                  ports: [("tcp-comm", DaskClusterSpec.schedulerPort), ("http-dashboard", DaskClusterSpec.dashboardPort)])
        return ["apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster",
                "metadata": ["name": .text(name)],
                "spec": ["idleTimeout": .int(Int64(idle)),
                         "worker": ["replicas": .int(Int64(replicas)), "spec": ["containers": [worker]]],
                         "scheduler": ["spec": ["containers": [scheduler]], "service": ["type": .text(serviceType)]]]]
    }

    /// A DaskCluster resource as the run's pods: `spec.worker.spec` the workers' Pod spec,
    /// `spec.scheduler.spec` the scheduler's, `spec.worker.replicas` their number (unless
    /// `adapt_kwargs`), `spec.scheduler.service.type` the scheduler Service's type; the
    /// cluster's and each part's labels and annotations on its pods.
    static func read(_ resource: Value, source: String, adapt: Value, into spec: inout DaskClusterSpec) throws {
        func fail(_ field: String, _ problem: String) -> FlowError { FlowError("\(source): \(field): \(problem)") }
        func only(_ value: Value, _ field: String, _ known: [String]) throws {
            guard value.mapValue != nil else { throw fail(field, "a mapping expected, got \(value.typeNameWithArticle)") }
            for key in keys(of: value) where !known.contains(key) {
                throw fail("\(field).\(key)", "dkrun does not take it (it takes \(known.joined(separator: ", ")) here)")
            }
        }
        try only(resource, "the DaskCluster", ["apiVersion", "kind", "metadata", "spec"])
        if let kind = resource["kind"], kind != "DaskCluster" { throw fail("kind", "DaskCluster expected, got \(JSON.encode(kind))") }
        if let api = resource["apiVersion"], api.stringValue?.hasPrefix("kubernetes.dask.org/") != true {
            throw fail("apiVersion", "kubernetes.dask.org/v1 expected, got \(JSON.encode(api))")
        }
        let metadata = resource["metadata"] ?? [:]
        try only(metadata, "metadata", ["name", "labels", "annotations"])
        guard let name = metadata["name"]?.stringValue, !name.isEmpty else {
            throw fail("metadata.name", "the cluster's name expected (its worker pods are named after it)")
        }
        guard let clusterSpec = resource["spec"] else { throw fail("spec", "the cluster's scheduler and worker expected") }
        try only(clusterSpec, "spec", ["idleTimeout", "scheduler", "worker"])
        if let idle = clusterSpec["idleTimeout"], try Numbers.integer(idle, "\(source): spec.idleTimeout", in: 0 ... Int(Int32.max)) > 0 {
            throw fail("spec.idleTimeout", "dkrun deletes the run's cluster when the run ends, idle or not: give 0 or none")
        }
        guard let worker = clusterSpec["worker"] else { throw fail("spec.worker", "the workers' replicas and Pod spec expected") }
        guard let scheduler = clusterSpec["scheduler"] else { throw fail("spec.scheduler", "the scheduler's Pod spec expected") }
        try only(worker, "spec.worker", ["replicas", "metadata", "spec"])
        try only(scheduler, "spec.scheduler", ["metadata", "spec", "service"])

        /// A part's Pod spec, with the cluster's labels and annotations and then the part's.
        func pod(_ part: Value, _ field: String, labels extra: [String: String]) throws -> Value {
            guard let podSpec = part["spec"] else { throw fail("\(field).spec", "a Pod spec expected") }
            let own = part["metadata"] ?? [:]
            try only(own, "\(field).metadata", ["labels", "annotations"])
            var meta: [Value: Value] = [:]
            for section in ["labels", "annotations"] {
                var merged: [Value: Value] = [:]
                for (at, m) in [("metadata", metadata), ("\(field).metadata", own)] {
                    guard let v = m[section] else { continue }
                    guard v.mapValue != nil, v.sortedEntries.allSatisfy({ $0.value.stringValue != nil }) else {
                        throw fail("\(at).\(section)", "a mapping of strings expected")
                    }
                    merged.merge(v.mapValue!) { $1 }
                }
                if section == "labels" { for (k, v) in extra { merged[.text(k)] = .text(v) } }
                if !merged.isEmpty { meta[.text(section)] = .map(merged) }
            }
            let template: Value = ["kind": "Pod", "metadata": .map(meta), "spec": podSpec]
            try SpecChecks.checkPod(template, "\(source): \(field)", replicas: false)
            return template
        }
        // The operator's label, when the name is one as it stands (not a template of {user}, {uuid}).
        let clusterLabel = KubeNames.dnsName(name) == name ? ["dask.org/cluster-name": name] : [:]
        spec.workerTemplate = try pod(worker, "spec.worker", labels: clusterLabel)
        spec.schedulerTemplate = try pod(scheduler, "spec.scheduler", labels: clusterLabel)
        // The operator's worker names: the cluster's, its default group's, a fresh uuid.
        spec.workerNameTemplate = "\(name)-default-worker-{uuid}"
        if let service = scheduler["service"] {
            try only(service, "spec.scheduler.service", ["type", "selector", "ports"])
            if let t = service["type"] {
                guard let type = t.stringValue, serviceTypes.contains(type) else {
                    throw fail("spec.scheduler.service.type", "one of \(serviceTypes.joined(separator: ", ")) expected, got \(JSON.encode(t))")
                }
                spec.schedulerServiceType = type
            }
            if service["selector"] != nil || service["ports"] != nil {
                spec.notes.append("the scheduler Service's selector and ports are dkrun's (its scheduler pod's labels; "
                    + "tcp-comm \(DaskClusterSpec.schedulerPort), http-dashboard \(DaskClusterSpec.dashboardPort))")
            }
        }
        let replicas = try Numbers.integer(worker["replicas"] ?? 1, "\(source): spec.worker.replicas", in: 0 ... SpecChecks.workerLimit)
        try KubeClusterOptions.size(&spec, workers: replicas, adapt: adapt)
        spec.notes.append("dask_kubernetes.operator.KubeCluster: dkrun makes the DaskCluster's pods itself (no operator): "
            + "the scheduler pod \(spec.schedulerName), worker pods named \(name)-default-worker-UUID")
    }

    private static func keys(of value: Value) -> [String] {
        value.sortedEntries.map { $0.key.stringValue ?? JSON.encode($0.key) }
    }

    private static func text(_ value: Value, _ field: String) throws -> String {
        guard let s = value.stringValue else { throw FlowError("\(owner).\(field): a string expected, got \(value.typeNameWithArticle)") }
        return s
    }
}
