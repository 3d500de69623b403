import ArgumentParser
import DKCore
import DKHistory
import DKLua
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a flow (the default command: `dkrun FLOW.lua`)."
    )

    @OptionGroup var flow: FlowOptions

    @Option(help: ArgumentHelp("Run with this executor whatever the flow configures: local, threads, threads=N, dask (a temporary cluster) or dask=ADDRESS.", valueName: "EXECUTOR"))
    var executor: String?

    @Flag(name: .shortAndLong, help: "Print only the tasks' own output, failures and a failed run's summary.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print debug log lines and tracebacks.")
    var verbose = false

    @Flag(name: .customLong("json-events"), help: "Print one JSON event per line instead of log lines.")
    var jsonEvents = false

    @Flag(help: "Print how long evaluating, validating, serialising and running took (to stderr).")
    var timings = false

    @Flag(name: .customLong("dry-run"), help: "For a flow that runs on Kubernetes: print every object the run would make, and make none.")
    var dryRun = false

    @Flag(help: "For a flow that runs on Kubernetes: submit the run, print its id and return (see `dkrun k8s logs`).")
    var detach = false

    @Option(help: ArgumentHelp("For a flow that runs on Kubernetes: the service account of its Job's pod when its run config names none (see `dkrun k8s rbac`).", valueName: "NAME"))
    var serviceAccount: String?

    @Option(help: ArgumentHelp("Resume an earlier run of this flow (an id or its first characters; alone, or `last`: the flow's last run): "
                               + "a task whose identity is unchanged, that succeeded then and whose upstream tasks are resumed too, "
                               + "ends Cached with the result it kept; the others run.", valueName: "RUN"))
    var resume: String?

    @Option(help: ArgumentHelp("Approve this task (repeatable; `dkrun resume` gives the tasks a paused run waits for): its trigger "
                               + "is not checked, and dk.pause() in it returns.", valueName: "TASK"))
    var approve: [String] = []

    @OptionGroup(title: "Kubernetes") var kube: KubeOptions

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together.") }
        if dryRun && detach { throw ValidationError("--dry-run makes nothing, so it cannot --detach.") }
        if let executor {
            do { _ = try ExecutorChoice.parse(executor, cores: 1) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        Interruption.install()
        // Made first, so that with --json-events stdout carries the events alone from the start
        // (see JSONEventWriter); a dry run or a detached one writes none.
        let observer: RunObserver = jsonEvents && !dryRun && !detach ? JSONEventWriter()
            : Reporter(verbosity: quiet ? .quiet : verbose ? .verbose : .normal)
        let loaded = try LoadedFlow(flow, printsToStderr: jsonEvents)
        let placement = try FlowPlacement.decide(for: loaded.spec, override: executor, cores: ExecutorChoice.machineCores)
        var kubernetesOnly: Bool { dryRun || detach || serviceAccount != nil }
        if case .here = placement, kubernetesOnly {
            throw CommandError.badInput("--dry-run, --detach and --service-account are for flows that run on Kubernetes, "
                + "and flow '\(loaded.spec.name)' runs here")
        }

        if resume != nil, case .kubernetes = placement, let problem = loaded.spec.resultsProblemOnKubernetes(resuming: true) {
            throw CommandError.badInput(problem)
        }
        let resumes = try resume.map { try ResumedRun.find($0, flow: loaded.spec) }
        if let unknown = approve.first(where: { name in !loaded.spec.tasks.contains { $0.slug == name } }) {
            throw CommandError.badInput("--approve '\(unknown)': flow '\(loaded.spec.name)' has no task '\(unknown)'")
        }

        var t = Clock.monotonic()
        let serialised = loaded.serialised()
        let serialise = Clock.monotonic() - t

        if verbose && !jsonEvents {
            fputs("payload: \(serialised.bytes.count) bytes, sha256 \(Digests.sha256Hex(serialised.bytes))\n", stdout)
        }
        t = Clock.monotonic()
        // One id for the run everywhere: dk.context.flow_run_id, the history, the Kubernetes objects.
        var run = RunRecorder.Run(id: UUID4.make(), flow: loaded.spec.name, dagHash: serialised.dagHash,
                                  parameters: Value(textKeys: loaded.resolvedParameters), placement: .here,
                                  script: Files.join(Files.currentDirectory, flow.script), scriptParameters: Value(textKeys: loaded.parameters))
        switch placement {
        case .kubernetes(let tasks):
            let submission = KubeSubmission(loaded: loaded, runID: run.id, tasks: tasks, payload: serialised.bytes, kube: kube,
                                            serviceAccount: serviceAccount, resumes: resumes,
                                            approved: Set(approve))
            if dryRun { return try submission.dryRun() }
            run.placement = .kubernetes
            try CommandError.end(with: try HistoryRecording.run(run, output: observer, ends: !detach) {
                try submission.submit(detach: detach, observer: $0)
            })
        case .here(let choice):
            try CommandError.end(with: try HistoryRecording.run(run, output: observer) { observer in
                let execution = try loaded.host.execution(of: loaded.spec, runID: run.id, parameters: loaded.parameters, executor: choice,
                                                          observer: observer, serialised: (serialised.payload, serialised.bytes))
                execution.resumes = resumes
                execution.approved = Set(approve)
                let result = try execution.run()
                if timings {
                    let all = loaded.timings + [("serialise", serialise), ("run", Clock.monotonic() - t)]
                    fputs("timings: " + all.map { "\($0.0) \(Clock.describe($0.1))" }.joined(separator: ", ")
                          + " (\(loaded.graph.count) tasks)\n", stderr)
                }
                return ExitStatus(flowState: result.state)
            })
        }
    }
}
