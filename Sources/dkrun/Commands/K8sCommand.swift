import ArgumentParser
import DKCore
import DKKube

struct K8sCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Kubernetes: flow runs' logs and cleanup, the RBAC a flow run needs, a check of the connection and permissions, static Dask cluster manifests, a Dask run's dashboard.",
        subcommands: [Logs.self, Cleanup.self, RBAC.self, Doctor.self, StaticCluster.self, FlowRun.self, Dashboard.self]
    )

    /// Prints manifests as one YAML stream, as `kubectl apply -f -` reads them.
    static func printManifests(_ manifests: [Value]) throws {
        print(try manifests.map { "---\n" + (try YAML.dump($0)) }.joined(), terminator: "")
    }

    struct RBAC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rbac",
            abstract: "Print the ServiceAccount, Role and RoleBinding a flow run needs (apply them with kubectl).")

        @Option(name: .shortAndLong, help: "The namespace flows run in.")
        var namespace = "default"

        @Option(help: "The service account the flow's pods run as.")
        var serviceAccount = "dkrun"

        func run() throws {
            try K8sCommand.printManifests(Manifests.rbac(namespace: namespace, serviceAccount: serviceAccount))
        }
    }

    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Check the connection, the credentials and every permission a flow run needs.")

        @OptionGroup var kube: KubeOptions

        func run() throws {
            let config = try kube.load()
            let client = KubeClient(config: config)
            client.maxRetries = 2
            let checks = try DKKube.Doctor(client: client).run(namespace: config.namespace)
            for check in checks { print("\(check.ok ? "ok  " : "FAIL") \(check.text)") }
            if checks.contains(where: { !$0.ok }) { throw CommandError(.failure, "") }
        }
    }

    struct StaticCluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "static-cluster",
            abstract: "Print the manifests of a long-running Dask cluster (scheduler Deployment and Service, worker Deployment).")

        @Option(help: "The number of Dask workers.")
        var workers: Int

        @Option(help: "The image of the scheduler and workers (it must hold your flows' dependencies and dkrun).")
        var image: String

        @Option(help: "Threads per worker (and the CPUs each worker requests).")
        var nthreads = 1

        @Option(help: "Memory per worker, a Kubernetes quantity such as 4G or 512Mi (Dask's --memory-limit and the pod's).")
        var memoryLimit = "4G"

        @Option(name: .shortAndLong, help: "The namespace.")
        var namespace = "default"

        func validate() throws {
            guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
            guard nthreads >= 1 else { throw ValidationError("--nthreads must be at least 1") }
            guard memoryLimit.wholeMatch(of: #/[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?/#) != nil else {
                throw ValidationError("--memory-limit '\(memoryLimit)' is not a memory quantity (such as 4G, 1.5G or 512Mi)")
            }
        }

        func run() throws {
            var cluster = Manifests.StaticCluster(workers: workers, image: image)
            cluster.nthreads = nthreads
            cluster.memoryLimit = memoryLimit
            cluster.namespace = namespace
            try K8sCommand.printManifests(Manifests.staticCluster(cluster))
        }
    }
}
