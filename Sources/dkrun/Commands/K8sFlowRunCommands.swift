import ArgumentParser
import DKCore
import DKHistory
import DKKube
import DKKubeRun
import DKLua
import FoundationEssentials

/// The `dkrun k8s` commands that work on flow runs: their logs, their cleanup, and the
/// command the run's Job runs.
extension K8sCommand {
    /// A run id as the user gives it (whole, or its first characters) → the whole id.
    static func findRun(_ given: String, client: KubeClient, namespace: String) throws -> String {
        let jobs = try client.list(.jobs, namespace: namespace, labelSelector: RunLabels.allRuns).items
        return try RunIDPrefix.resolve(given, among: jobs.compactMap { $0.labels[RunLabels.flowRun] }, place: "in namespace \(namespace)",
                                       missing: " (its Job is gone, or it never ran)")
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
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
            let output: RunObserver = jsonEvents ? JSONEventWriter() : Reporter(verbosity: .normal)
            // The run goes into the history too (again, when this dkrun started it: its record is made anew).
            let run = RunRecorder.Run(id: id, flow: nil, dagHash: nil, parameters: nil, placement: .kubernetes)
            try CommandError.end(with: try HistoryRecording.run(run, output: output, ends: follow) {
                JobFollower(client: client, namespace: config.namespace, runID: id, observer: $0)
                    .follow(startupTimeout: follow ? 300 : 5, follow: follow)
            })
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cleanup",
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
            let bytes = try Files.read(payload, limit: .payload)
            let decoded = try Payload(bytes: bytes)
            let run = JobFlowRun(payload: decoded, payloadBytes: bytes, host: try LuaHost.rebuild(decoded),
                                 config: try KubeOptions.load(), environment: ProcessInfo.processInfo.environment)
            let result = try run.execution(observer: JSONEventWriter()).run()
            try CommandError.end(with: ExitStatus(flowState: result.state))
        }
    }
}
