/// The environment's hooks around a flow run (Prefect 1's Environment on_start / on_exit).
public enum EnvironmentHook: String, Sendable {
    case onStart = "on_start"
    case onExit = "on_exit"
}

/// What running a flow needs from the language the flow is written in (the Lua host):
/// invokers for task calls, the environment's hooks, and where output outside tasks goes.
public protocol FlowHost: AnyObject {
    /// A new invoker for the calling thread to run tasks with (keep it for the whole run).
    func makeTaskInvoker() -> TaskInvoker
    /// Whether other threads and Dask workers can rebuild the flow from its payload (not when
    /// it was made in the REPL: no script builds it).
    var canRebuildElsewhere: Bool { get }
    /// Makes the invoker of another thread, which rebuilds the flow from its payload.
    func threadInvokers(for payload: Payload) -> @Sendable (CancellationFlag) throws -> TaskInvoker
    /// Runs one of the flow's environment hooks, if it has it.
    func runHook(_ hook: EnvironmentHook) throws
    /// Calls the flow's state handlers for its change to `new`; returns the state they leave.
    func flowStateChanged(from old: TaskState, to new: TaskState) -> TaskState
    /// Receives `print` outside tasks while a run goes on (the hooks' output, say).
    var runObserver: RunObserver? { get set }
}

/// Runs a whole flow somewhere else (a Dask cluster): the payload goes there, the run's
/// events come back to the observer. DKDask and DKKubeRun provide them.
public protocol ClusterRunner: AnyObject {
    /// - Parameters:
    ///   - payload: the flow's payload, encoded.
    ///   - context: the run's, for its tasks.
    func run(graph: FlowGraph, payload: [UInt8], context: FlowRunContext, settings: Value,
             observer: RunObserver?) throws -> FlowRunResult
}

/// One flow run from start to end, read top to bottom as Prefect's runner reads: check that
/// the executor can run this flow, LocalRun's env and working_dir put in force, the
/// environment's on_start, the tasks (on the executor with a `FlowRunner`, or on a Dask
/// cluster through a `ClusterRunner`), on_exit, and the flow's end reported. A failing hook
/// or cluster ends the flow Failed with the reason, as any other failure of the run does;
/// only a flow that cannot run here at all is an error.
public final class FlowExecution {
    private let graph: FlowGraph
    private let runID: String
    private let parameters: [String: Value]
    private let executor: ExecutorChoice
    private let host: FlowHost
    private let clusterRunner: ClusterRunner?
    /// Made only for threads and Dask, which rebuild the flow from it; the bytes only for Dask.
    private lazy var payload: Payload = makePayload()
    private lazy var payloadBytes: [UInt8] = givenBytes ?? payload.encoded()
    private let makePayload: () -> Payload
    private let givenBytes: [UInt8]?
    private let observer: RunObserver?
    private let process: LocalRunProcess?
    /// The id of the run this one resumes (docs/results.md, Resume), or nil.
    public var resumes: String?
    /// The tasks (slugs) this run approves (`FlowRunContext.approved`).
    public var approved: Set<String> = []
    /// Whether the run keeps results for a resume (`FlowRunContext.keepsResults`).
    public var keepsResults = false
    /// Whether the run's result holds every task's result (`flow:run`, as Prefect 1's
    /// `flow.run()` returns them); false (`dkrun FLOW.lua`, which reports none): only the
    /// reference tasks', and a task's result is let go once nothing downstream reads it.
    public var returnsTaskResults = true
    /// The results the tasks run here keep for a resume, written aside as they come.
    private let kept = KeptResults()

    /// - Parameters:
    ///   - parameters: resolved values (see `FlowGraph.resolveParameters`).
    ///   - payload: makes the flow's payload, from which other threads and Dask workers rebuild
    ///     the flow (called at most once, and only for them).
    ///   - payloadBytes: its encoding, when the caller has it already.
    ///   - clusterRunner: runs `.dask` flows; without one, they are refused.
    ///   - process: the flow's LocalRun, for a run here (nil: none, or not here).
    ///   - runID: the run's id (`flow_run_id`; the run history's and the Kubernetes objects').
    public init(graph: FlowGraph, runID: String = UUID4.make(), parameters: [String: Value], executor: ExecutorChoice, host: FlowHost,
                clusterRunner: ClusterRunner?, payload: @escaping () -> Payload, payloadBytes: [UInt8]?,
                observer: RunObserver?, process: LocalRunProcess?) {
        self.graph = graph
        self.runID = runID
        self.parameters = parameters
        self.executor = executor
        self.host = host
        self.clusterRunner = clusterRunner
        makePayload = payload
        givenBytes = payloadBytes
        self.observer = observer
        self.process = process
    }

    /// Runs the flow. Throws only when this executor cannot run it, or LocalRun's working_dir
    /// cannot be entered (nothing has run then).
    public func run() throws -> FlowRunResult {
        let tasks = try checkExecutor()
        guard let process else { return runWithHooks(tasks) }
        return try process.applied { runWithHooks(tasks) }
    }

    private func runWithHooks(_ tasks: (RunObserver) throws -> FlowRunResult) -> FlowRunResult {
        // Only a cluster's run can fail after its tasks ran, with the states they reached.
        var onCluster = false
        if case .dask = executor { onCluster = true }
        let report = FlowEndAfterExit(observer, keepsTaskStates: onCluster)
        let previousObserver = host.runObserver
        host.runObserver = observer
        defer { host.runObserver = previousObserver }
        let started = Clock.monotonic()

        var result: FlowRunResult
        do {
            try runHook(.onStart)
            result = try tasks(report)
            result.state = host.flowStateChanged(from: TaskState(.running), to: result.state)
        } catch {
            result = report.failed(flow: graph, executor: executor.description, reason: "\(error)",
                                   wall: Clock.monotonic() - started)
            result.refused = (error as? CategorizedError)?.exitStatus == .badInput
        }
        do {
            try runHook(.onExit)
        } catch where result.state.isSuccessful {
            result.state = TaskState(.failed, message: "\(error)")
        } catch {
            // The flow failed or was cancelled already: that stays its state.
            observer?.handle(.log(nil, .error, "\(error)", time: Clock.wall()))
        }
        kept.finish { [observer] in observer?.handle(.log(nil, .warning, $0, time: Clock.wall())) }
        report.flowEnded(as: result.state)
        return result
    }

    /// How the tasks will run, once it is sure they can.
    private func checkExecutor() throws -> (RunObserver) throws -> FlowRunResult {
        let flow = graph.spec
        var context = FlowRunContext(id: runID, flowName: flow.name, parameters: parameters, resumes: resumes)
        context.approved = approved
        context.keepsResults = keepsResults
        if case .dask = executor {} else { context.kept = kept }
        switch executor {
        case .local:
            return { [self] observer in
                FlowRunner(graph: graph, context: context, executor: LocalExecutor(invoker: host.makeTaskInvoker()),
                           observer: observer, releasesResults: !returnsTaskResults).run()
            }
        case .threads(let n):
            guard host.canRebuildElsewhere else { throw madeInREPL(flow) }
            return { [self] observer in
                let makeInvoker = host.threadInvokers(for: payload)
                // This thread runs tasks with the host's invoker; the others rebuild the flow
                // from its payload, as a remote worker would.
                let pool = ThreadExecutor(threads: n, callerInvoker: host.makeTaskInvoker(), makeInvoker: makeInvoker)
                defer { pool.shutdown() }
                return FlowRunner(graph: graph, context: context, executor: pool, observer: observer,
                                  releasesResults: !returnsTaskResults).run()
            }
        case .dask(let settings):
            guard host.canRebuildElsewhere else { throw madeInREPL(flow) }
            guard let clusterRunner else { throw FlowError("this dkrun cannot run flows on Dask") }
            return { [self] observer in
                try clusterRunner.run(graph: graph, payload: payloadBytes, context: context, settings: settings, observer: observer)
            }
        }
    }

    private func madeInREPL(_ flow: FlowSpec) -> FlowError {
        // Other threads and Dask workers rebuild the flow by running its script again.
        FlowError("flow '\(flow.name)' was made in the REPL, so no script can rebuild it on other threads or "
            + "Dask workers: put it in a file that returns it and run that (or use executor local)")
    }

    private func runHook(_ hook: EnvironmentHook) throws {
        do { try host.runHook(hook) } catch {
            throw RunFailure("\(hook.rawValue) hook failed: \(error)")
        }
    }
}

/// Passes a run's events on, but holds its end (`flowFinished`) until the environment's
/// on_exit hook has run, which can still fail the flow; and ends a run that failed before or
/// while its tasks ran.
private final class FlowEndAfterExit: RunObserver, @unchecked Sendable {
    private let observer: RunObserver?
    private let monitor = Monitor()
    private var started = false
    private var counts: [StateKind: Int] = [:]
    /// The last finished state of each task, for a run that fails outside its tasks after
    /// they ran (`keepsTaskStates`).
    private var taskStates: [String: TaskState] = [:]
    private let keepsTaskStates: Bool
    private var end: (flow: String, counts: [StateKind: Int], wall: Double)?

    init(_ observer: RunObserver?, keepsTaskStates: Bool) {
        self.observer = observer
        self.keepsTaskStates = keepsTaskStates
    }

    func handle(_ event: RunEvent) {
        switch event {
        case .flowStarted:
            monitor.locked { started = true }
        case let .taskState(id, state, _, _, _, _) where state.isFinished || state.kind == .paused:
            monitor.locked {
                counts[state.kind, default: 0] += 1
                if id.mapIndex == nil && keepsTaskStates { taskStates[id.task] = state }
            }
        case let .flowFinished(flow, _, counts, wall, _):
            monitor.locked { end = (flow, counts, wall) }
            return
        default: break
        }
        observer?.handle(event)
    }

    /// The result of a run that failed outside its tasks: the flow Failed with the reason
    /// (its tasks keep the states they reached).
    func failed(flow graph: FlowGraph, executor: String, reason: String, wall: Double) -> FlowRunResult {
        let (wasStarted, reached) = monitor.locked {
            if end == nil { end = (graph.spec.name, counts, wall) }
            return (started, taskStates)
        }
        if !wasStarted {
            observer?.handle(.flowStarted(flow: graph.spec.name, tasks: graph.count, executor: executor, time: Clock.wall()))
        }
        return FlowRunResult(state: TaskState(.failed, message: reason), taskStates: reached, wall: wall)
    }

    /// Reports the run's end, in its final state.
    func flowEnded(as state: TaskState) {
        guard let end = monitor.locked({ end }) else { return }
        observer?.handle(.flowFinished(flow: end.flow, state: state, counts: end.counts, wall: end.wall, time: Clock.wall()))
    }
}
