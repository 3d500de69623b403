import ArgumentParser
import DKCore
import DKHistory
import DKLua
import DKReport
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

    @Option(name: .customLong("limit"), help: ArgumentHelp("At most N runs of tasks with the tag at once, over the flow's own limit (repeatable).", valueName: "TAG=N"))
    var limits: [String] = []

    @Flag(name: .customLong("no-fuse"), help: "On Dask, give every task a Dask task of its own: fuse no chain of tasks (docs/dask.md, Fusion).")
    var noFuse = false

    @OptionGroup var printing: OutputOptions

    @Option(help: ArgumentHelp("Also write the run's report, one HTML page (see `dkrun report`).", valueName: "FILE"))
    var report: String?

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
        if dryRun && detach { throw ValidationError("--dry-run makes nothing, so it cannot --detach.") }
        if report != nil && (dryRun || detach) { throw ValidationError("--report needs the run's end, so it goes with neither --dry-run nor --detach.") }
        if let executor {
            do { _ = try ExecutorChoice.parse(executor, cores: 1) } catch { throw ValidationError("\(error)") }
        }
    }

    /// `--limit TAG=N`s, each N a positive integer.
    private func limitsGiven() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for pair in limits {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw CommandError.badInput("--limit '\(pair)': expected TAG=N")
            }
            let tag = String(pair[..<eq])
            guard let n = Int(pair[pair.index(after: eq)...]), n >= 1, n <= Int32.max else {
                throw CommandError.badInput("--limit '\(pair)': N must be a positive integer")
            }
            out[tag] = n
        }
        return out
    }

    func run() throws {
        Interruption.install()
        // Made first, so that with --json-events stdout carries the events alone from the start
        // (see JSONEventWriter); a dry run or a detached one writes none.
        let output: RunObserver = printing.jsonEvents && !dryRun && !detach ? JSONEventWriter()
            : Reporter(verbosity: printing.quiet ? .quiet : printing.verbose ? .verbose : .normal)
        let collector = report.map { _ in RunEventCollector() }
        let observer: RunObserver = collector.map { RunObservers([output, $0]) } ?? output
        let givenLimits = try limitsGiven()
        let loaded = try LoadedFlow(flow, printsToStderr: printing.jsonEvents)
        let placement = try FlowPlacement.decide(for: loaded.spec, override: executor, cores: ExecutorChoice.machineCores)
        var kubernetesOnly: Bool { dryRun || detach || serviceAccount != nil }
        if case .here = placement, kubernetesOnly {
            throw CommandError.badInput("--dry-run, --detach and --service-account are for flows that run on Kubernetes, "
                + "and flow '\(loaded.spec.name)' runs here")
        }
        if let report { try ReportOutput.claim(report) }
        if case .kubernetes = placement, !limits.isEmpty {
            throw CommandError.badInput("--limit is for flows that run here, and flow '\(loaded.spec.name)' runs on Kubernetes: "
                + "set the flow's limits = { ... } instead")
        }
        if case .kubernetes = placement, noFuse {
            throw CommandError.badInput("--no-fuse is for flows that run here, and flow '\(loaded.spec.name)' runs on Kubernetes: "
                + "set the flow's fuse = false instead")
        }
        // The command line's limits and --no-fuse go to this run's coordinator, not into the
        // payload: workers rebuild the flow from its script, and must find the same description.
        var graph = loaded.graph.limited(by: givenLimits)
        if noFuse { graph = graph.unfused() }

        if resume != nil, case .kubernetes = placement, let problem = loaded.spec.resultsProblemOnKubernetes(resuming: true) {
            throw CommandError.badInput(problem)
        }
        let resumes = try resume.map { try ResumedRun.find($0, flow: loaded.spec) }
        if let unknown = approve.first(where: { name in !loaded.spec.tasks.contains { $0.slug == name } }) {
            throw CommandError.badInput("--approve '\(unknown)': flow '\(loaded.spec.name)' has no task '\(unknown)'")
        }

        let showsPayload = printing.verbose && !printing.jsonEvents
        // The payload's bytes go to Dask and Kubernetes; a run here only shows their size.
        var sendsPayload = true
        if case .here(let choice) = placement {
            sendsPayload = false
            if case .dask = choice { sendsPayload = true }
        }
        var t = Clock.monotonic()
        var serialised = loaded.serialised(encoding: sendsPayload || showsPayload)
        let serialise = Clock.monotonic() - t

        if showsPayload {
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
            let status = try HistoryRecording.run(run, output: observer, ends: !detach) {
                try submission.submit(detach: detach, observer: $0)
            }
            try writeReport(collector, run: run, graph: loaded.graph)
            try CommandError.end(with: status)
        case .here(let choice):
            // Only Dask sends the bytes: a run here does not hold them (26 MB for 100,000 tasks).
            var bytes: [UInt8]?
            if case .dask = choice { bytes = serialised.bytes }
            serialised.bytes = []
            let payload = serialised.payload
            let status = try HistoryRecording.run(run, output: observer) { observer in
                let execution = try loaded.host.execution(of: graph, runID: run.id, parameters: loaded.parameters, executor: choice,
                                                          observer: observer, serialised: (payload, bytes))
                execution.resumes = resumes
                execution.approved = Set(approve)
                execution.keepsResults = true
                execution.returnsTaskResults = false
                let result = try execution.run()
                if timings {
                    let all = loaded.timings + [("serialise", serialise), ("run", Clock.monotonic() - t)]
                    fputs("timings: " + all.map { "\($0.0) \(Clock.describe($0.1))" }.joined(separator: ", ")
                          + " (\(loaded.graph.count) tasks)\n", stderr)
                }
                return result.exitStatus
            }
            try writeReport(collector, run: run, graph: loaded.graph)
            try CommandError.end(with: status)
        }
    }

    /// The report of the run that ended, when --report asked for one.
    private func writeReport(_ collector: RunEventCollector?, run: RunRecorder.Run, graph: FlowGraph) throws {
        guard let report, let collector else { return }
        let model = RunReport(events: collector.events, run: RunReport.Run(
            id: run.id, flow: run.flow, placement: run.placement.rawValue, parameters: run.parameters))
        try ReportOutput.write(ReportPage(report: model, graph: ReportOutput.graph(of: graph, states: model.taskStates)), to: report)
    }
}
