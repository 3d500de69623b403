import ArgumentParser
import DKCore
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
        let loaded = try LoadedFlow(flow, printsToStderr: jsonEvents)
        let choice: ExecutorChoice
        do {
            choice = try ExecutorChoice.decide(for: loaded.spec, override: executor, cores: Self.cores)
        } catch {
            throw CLIFailure.badInput("\(error)")
        }
        if (dryRun || detach || serviceAccount != nil) && choice != .kubernetes {
            throw CLIFailure.badInput("--dry-run, --detach and --service-account are for flows that run on Kubernetes, and flow '\(loaded.spec.name)' runs here")
        }

        var t = Clock.monotonic()
        let payload = loaded.host.payload(for: loaded.spec, parameters: loaded.resolvedParameters)
        let bytes = payload.encoded()
        let serialise = Clock.monotonic() - t

        let observer: RunObserver = jsonEvents ? JSONEventWriter()
            : Reporter(verbosity: quiet ? .quiet : verbose ? .verbose : .normal)
        if verbose && !jsonEvents {
            fputs("payload: \(bytes.count) bytes, sha256 \(SHA256.hexDigest(bytes))\n", stdout)
        }
        t = Clock.monotonic()
        if choice == .kubernetes {
            let submission = KubeSubmission(loaded: loaded, payload: bytes, kube: kube, serviceAccount: serviceAccount)
            if dryRun { return try submission.dryRun() }
            let code = try submission.submit(detach: detach, observer: observer)
            if code != 0 { throw CLIFailure(message: code == 130 ? "interrupted" : "", code: code) }
            return
        }
        let result: FlowRunResult
        do {
            result = try loaded.host.run(loaded.spec, parameters: loaded.parameters, executor: choice, observer: observer,
                                         serialised: (payload, bytes))
        } catch {
            throw CLIFailure.failure("\(error)")
        }
        if timings {
            let all = loaded.timings + [("serialise", serialise), ("run", Clock.monotonic() - t)]
            fputs("timings: " + all.map { "\($0.0) \(Clock.describe($0.1))" }.joined(separator: ", ")
                  + " (\(loaded.graph.count) tasks)\n", stderr)
        }
        try Self.exit(for: result)
    }

    /// Returns for a successful run; throws the exit code of any other.
    static func exit(for result: FlowRunResult) throws {
        switch result.state.kind {
        case .success, .skipped, .mapped: return
        case .cancelled: throw CLIFailure(message: "interrupted", code: 130)
        default: throw CLIFailure(message: "", code: 1)
        }
    }

    static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
