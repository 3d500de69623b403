import ArgumentParser
import DKCore
import DKDask
import DKKube
import DKKubeRun
import DKLua
import Foundation

/// The `dkrun k8s` commands that work on flow runs: their logs, their cleanup, and the
/// command the run's Job runs.
extension K8sCommand {
    /// A run id as the user gives it (whole, or its first characters) → the whole id.
    static func findRun(_ given: String, client: KubeClient, namespace: String) throws -> String {
        let jobs = try client.list(.jobs, namespace: namespace, labelSelector: RunLabels.allRuns)["items"]?.arrayValue ?? []
        let ids = Set(jobs.compactMap { $0["metadata"]?["labels"]?[RunLabels.flowRun]?.stringValue }).filter { $0.hasPrefix(given) }
        guard ids.count == 1 else {
            throw CLIFailure.badInput(ids.isEmpty ? "no flow run '\(given)' in namespace \(namespace) (its Job is gone, or it never ran)"
                                      : "'\(given)' names \(ids.count) flow runs in namespace \(namespace): give more of the id")
        }
        return ids.first!
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a flow run's log lines and task states (of a run started with --detach, say).")

        @Argument(help: ArgumentHelp("The flow run's id (or its first characters).", valueName: "RUN"))
        var runID: String

        @Flag(name: .shortAndLong, help: "Follow the run to its end; the exit code is the flow's.")
        var follow = false

        @Flag(name: .customLong("json-events"), help: "Print one JSON event per line instead of log lines.")
        var jsonEvents = false

        @OptionGroup var kube: KubeOptions

        func run() throws {
            Interruption.install()
            let config = try kube.load()
            let client = KubeClient(config: config)
            let id = try K8sCommand.findRun(runID, client: client, namespace: config.namespace)
            let observer: RunObserver = jsonEvents ? JSONEventWriter() : Reporter(verbosity: .normal)
            let code = JobFollower(client: client, namespace: config.namespace, runID: id, observer: observer)
                .follow(startupTimeout: follow ? 300 : 5, follow: follow)
            if code != 0 { throw CLIFailure(message: code == 130 ? "interrupted" : "", code: code) }
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete what a flow run left on Kubernetes (its Job, pods, Services, ConfigMaps, Secrets), or every run's.")

        @Argument(help: ArgumentHelp("The flow run's id (or its first characters).", valueName: "RUN"))
        var runID: String?

        @Flag(help: "Every flow run's objects in the namespace.")
        var all = false

        @OptionGroup var kube: KubeOptions

        func validate() throws {
            if (runID == nil) == !all { throw ValidationError("give a flow run's id, or --all") }
        }

        func run() throws {
            let config = try kube.load()
            let client = KubeClient(config: config)
            let id = try runID.map { try K8sCommand.findRun($0, client: client, namespace: config.namespace) }
            let deleted = RunCleanup(client: client, namespace: config.namespace).delete(run: id)
            print(deleted.isEmpty ? "nothing to delete" : deleted.map { "deleted \($0)" }.joined(separator: "\n"))
        }
    }

    /// What the run's Job runs: the flow rebuilt from its payload, its tasks on the Dask
    /// cluster made for the run (or with its executor), its events as JSON lines that the
    /// user's dkrun reads from the pod's log.
    struct FlowRun: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "flow-run",
            abstract: "Run a flow's payload inside its Kubernetes Job (the Job's command).",
            shouldDisplay: false)

        @Argument(help: "The payload file (the Job mounts it from a ConfigMap).")
        var payload: String

        func run() throws {
            Interruption.install()
            let environment = ProcessInfo.processInfo.environment
            let bytes: [UInt8]
            let payload: Payload
            let host: LuaHost
            do {
                bytes = try Files.read(self.payload)
                payload = try Payload(bytes: bytes)
                host = try LuaHost.rebuild(payload)
            } catch {
                throw CLIFailure.badInput("\(error)")
            }
            let config = try KubeOptions.load()
            guard let plan = try FlowRunPlan.decide(payload.flow, runID: environment["DKRUN_RUN_ID"] ?? UUID().uuidString.lowercased(),
                                                    namespace: config.namespace, defaultImage: KubeSubmission.defaultImage,
                                                    environment: environment) else {
                throw CLIFailure.badInput("flow '\(payload.flow.name)' does not run on Kubernetes")
            }
            let choice: ExecutorChoice
            switch plan.tasks {
            case .daskCluster(var spec):
                let client = KubeClient(config: config)
                if let job = environment["DKRUN_JOB_NAME"] {
                    spec.owner = FlowRunPlan.jobOwner(name: job, uid: try client.get(.jobs, job)["metadata"]?["uid"]?.stringValue ?? "")
                }
                if spec.workerTemplate == nil, let path = environment["DASK_KUBERNETES__WORKER_TEMPLATE_PATH"] {
                    spec.workerTemplate = try YAML.load(String(decoding: try Files.read(path), as: UTF8.self), source: path)
                }
                host.clusterRunner = KubeClusterRunner(client: client, spec: spec, environment: environment)
                let executor = payload.flow.executor
                choice = .dask(executor?["type"] == "DaskExecutor" ? executor! : ["type": "DaskExecutor"])
            case .executor(let c):
                host.clusterRunner = DaskRunner()
                choice = c
            }
            let result: FlowRunResult
            do {
                result = try host.run(payload.flow, parameters: payload.parameters, executor: choice,
                                      observer: JSONEventWriter(), serialised: (payload, bytes))
            } catch {
                throw CLIFailure.failure("\(error)")
            }
            try RunCommand.exit(for: result)
        }
    }
}
