import DKCore

/// One thing a flow run does through the API: verbs on a resource of an API group.
public struct Permission: Sendable, Equatable {
    public let group: String
    public let resource: String
    public let verbs: [String]
}

/// The manifests dkrun prints: the RBAC a flow run needs, and the static Dask cluster of
/// seed `prefect-static-dask-cluster-recipe.md`, current and correct.
public enum Manifests {
    /// What a flow run does: the Job that runs the flow, the Dask scheduler and worker pods
    /// and their Service, the payload's ConfigMap and the image pull Secret (patched to be
    /// owned by the Job), their logs and events, and the PodDisruptionBudget dask-kubernetes
    /// makes. Nothing more.
    public static let permissions: [Permission] = [
        Permission(group: "", resource: "pods", verbs: ["get", "list", "watch", "create", "delete", "deletecollection", "patch"]),
        Permission(group: "", resource: "pods/log", verbs: ["get"]),
        Permission(group: "", resource: "services", verbs: ["get", "list", "watch", "create", "delete"]),
        Permission(group: "", resource: "configmaps", verbs: ["get", "list", "create", "patch", "delete"]),
        Permission(group: "", resource: "secrets", verbs: ["get", "list", "create", "patch", "delete"]),
        Permission(group: "", resource: "events", verbs: ["get", "list", "watch"]),
        Permission(group: "batch", resource: "jobs", verbs: ["get", "list", "watch", "create", "delete"]),
        Permission(group: "policy", resource: "poddisruptionbudgets", verbs: ["get", "list", "create", "delete"]),
    ]

    /// A ServiceAccount, a Role with `permissions`, and the RoleBinding between them.
    public static func rbac(namespace: String, serviceAccount: String) -> [Value] {
        let metadata = { (name: String) -> Value in
            ["name": .text(name), "namespace": .text(namespace), "labels": ["app.kubernetes.io/managed-by": "dkrun"]]
        }
        var rules: [Value] = []
        for group in ["", "batch", "policy"] {
            for p in permissions where p.group == group {
                rules.append(["apiGroups": [.text(p.group)], "resources": [.text(p.resource)],
                              "verbs": .array(p.verbs.map(Value.text))])
            }
        }
        return [
            ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(serviceAccount)],
            ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata("dkrun-flow-runner"),
             "rules": .array(rules)],
            ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata("dkrun-flow-runner"),
             "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dkrun-flow-runner"],
             "subjects": [["kind": "ServiceAccount", "name": .text(serviceAccount), "namespace": .text(namespace)]]],
        ]
    }

    public struct StaticCluster {
        public var workers: Int
        public var image: String
        public var nthreads: Int = 1
        /// Dask's --memory-limit, a Kubernetes quantity ("4G", "512Mi").
        public var memoryLimit: String = "4G"
        public var namespace: String = "default"

        public init(workers: Int, image: String) {
            self.workers = workers
            self.image = image
        }
    }

    /// The scheduler Deployment and Service and the worker Deployment: `dask scheduler` and
    /// `dask worker` as they are spelled today, no dashboard on the workers, and resources
    /// matching --nthreads and --memory-limit (requests = limits, as dask-kubernetes advises).
    public static func staticCluster(_ c: StaticCluster) -> [Value] {
        func deployment(_ name: String, replicas: Int, args: [String], resources: Value?, ports: [Value]) -> Value {
            var container: [Value: Value] = ["name": .text(name), "image": .text(c.image),
                                             "args": .array(args.map(Value.text))]
            if let resources { container["resources"] = resources }
            if !ports.isEmpty { container["ports"] = .array(ports) }
            return ["apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": ["name": .text(name), "namespace": .text(c.namespace), "labels": ["app": .text(name)]],
                    "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": .text(name)]],
                             "template": ["metadata": ["labels": ["app": .text(name)]],
                                          "spec": ["containers": [.map(container)]]]]]
        }
        let quantity: Value = ["cpu": .text(String(c.nthreads)), "memory": .text(c.memoryLimit)]
        return [
            deployment("dask-scheduler", replicas: 1, args: ["dask", "scheduler", "--port", "8786", "--dashboard-address", ":8787"],
                       resources: nil, ports: [["name": "tcp-comm", "containerPort": 8786], ["name": "http-dashboard", "containerPort": 8787]]),
            ["apiVersion": "v1", "kind": "Service",
             "metadata": ["name": "dask-scheduler", "namespace": .text(c.namespace), "labels": ["app": "dask-scheduler"]],
             "spec": ["selector": ["app": "dask-scheduler"],
                      "ports": [["name": "tcp-comm", "port": 8786, "targetPort": 8786],
                                ["name": "http-dashboard", "port": 8787, "targetPort": 8787]]]],
            deployment("dask-worker", replicas: c.workers,
                       args: ["dask", "worker", "tcp://dask-scheduler:8786", "--nthreads", String(c.nthreads),
                              "--memory-limit", c.memoryLimit, "--no-dashboard", "--death-timeout", "60"],
                       resources: ["limits": quantity, "requests": quantity], ports: []),
        ]
    }
}
