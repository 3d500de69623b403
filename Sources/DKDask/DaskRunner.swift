import DKCore

/// Sizes a cluster whose workers dkrun manages itself (pods on Kubernetes) while a run goes
/// on. The runner passes on what the driver reports and asks it to retire workers.
public protocol WorkerScaling: AnyObject {
    /// How often the driver reports the workers (seconds).
    var reportInterval: Double { get }
    /// The scheduler's workers (addresses) and what it has to run.
    /// - Returns: the workers the driver should retire now.
    func observe(_ demand: WorkerDemand, workers: [String]) throws -> [RetireRequest]
    /// The workers the scheduler retired for `group` (their data moved elsewhere): their pods can go.
    func retired(_ workers: [String], group: String) throws
    /// Called about ten times a second; throws to end the run (a pod that cannot start).
    func check() throws
    /// Called when the driver has failed: throws the cluster's failure behind it (its
    /// scheduler's pod deleted, say), looked at now, so that the run names the cause, which
    /// the driver, losing its connection first, cannot see.
    func checkCause() throws
    /// Called with the message of a task that Dask failed: what ended the workers it names
    /// (a KilledWorker names the last one to run the task), as a sentence, or nil.
    func whyLost(_ failure: String) -> String?
}

/// What the scheduler has to run, as the driver reports it every interval: Dask's adaptive
/// target (how many workers it wants), and the ready tasks (waiting for a worker, or on one)
/// without resource restrictions (`plain`) and with, counted by their restrictions.
public struct WorkerDemand: Sendable, Equatable {
    public struct Restricted: Sendable, Equatable {
        public var resources: [String: Double]
        public var count: Int

        public init(resources: [String: Double], count: Int) {
            self.resources = resources
            self.count = count
        }
    }

    public var target: Int
    public var plain: Int
    public var restricted: [Restricted]

    public init(target: Int, plain: Int = 0, restricted: [Restricted] = []) {
        self.target = target
        self.plain = plain
        self.restricted = restricted
    }

    /// The `workers` event's fields.
    init(event: Value) {
        target = Int(clamping: event["target"]?.intValue ?? 0)
        plain = Int(clamping: event["plain"]?.intValue ?? 0)
        restricted = (event["restricted"]?.arrayValue ?? []).map {
            Restricted(resources: ($0["resources"]?.textKeyed ?? [:]).compactMapValues(\.numberValue),
                       count: Int(clamping: $0["count"]?.intValue ?? 0))
        }
    }
}

/// Workers to retire: `count` of Dask's choosing among `among` (nil: among all), for `group`.
public struct RetireRequest: Sendable, Equatable {
    public var group: String
    public var count: Int
    public var among: [String]?

    public init(group: String, count: Int, among: [String]?) {
        self.group = group
        self.count = count
        self.among = among
    }
}

/// Runs a flow on a Dask cluster through the Python driver (python/dkrun_dask): sends it the
/// payload and the task graph, turns its events into run events for the observer, and
/// decides the flow's state from the reference tasks as a local run does. Ctrl-C and SIGTERM
/// cancel the run; a temporary cluster goes with the driver.
public final class DaskRunner: ClusterRunner {
    /// How long the driver gets to cancel and shut a cluster down before it is killed.
    static let shutdownGrace = 30.0
    /// How long it gets once the cluster itself has failed (its scheduler may be gone, and
    /// cancelling through it would wait out the connect timeout).
    static let failedClusterGrace = 3.0

    private let scaling: WorkerScaling?
    private let warmDriver: Bool
    private let measuredDurations: ((_ flow: String) -> [String: [Double]])?

    /// - Parameters:
    ///   - warmDriver: fork the driver from the user's warm driver (`WarmDriver`)
    ///     rather than start a Python: for dkrun on a user's machine, not in a pod.
    ///   - measuredDurations: the seconds each task (by slug; a mapped task's children's) took
    ///     in an earlier run of the flow (by name), from which the driver batches cheap tasks
    ///     and children (docs/dask.md, Fusion).
    public init(scaling: WorkerScaling? = nil, warmDriver: Bool = false,
                measuredDurations: ((_ flow: String) -> [String: [Double]])? = nil) {
        self.scaling = scaling
        self.warmDriver = warmDriver
        self.measuredDurations = measuredDurations
    }

    public func run(graph: FlowGraph, payload bytes: [UInt8], context: FlowRunContext, settings: Value,
                    observer: RunObserver?) throws -> FlowRunResult {
        let started = Clock.monotonic()
        var settings = settings
        let reportPath = try PerformanceReportPath.resolve(settings)
        settings["performance_report_path"] = reportPath.map(Value.text)
        var fallback: String?
        let driver = try DriverProcess(python: DriverProcess.python(), warm: warmDriver) { fallback = $0 }
        var finished = false
        defer { if !finished { driver.finish(grace: Self.shutdownGrace) } }
        let measured = graph.spec.tasks.contains(where: \.fuses) ? measuredDurations?(graph.spec.name) ?? [:] : [:]
        try driver.send(startMessage(graph: graph, payload: bytes, context: context, settings: settings, measured: measured))
        observer?.handle(.flowStarted(flow: graph.spec.name, tasks: graph.count,
                                      executor: ExecutorChoice.dask(settings).description, time: Clock.wall()))
        if let fallback { observer?.handle(.log(nil, .debug, fallback, time: Clock.wall())) }
        for warning in graph.spec.unusedLimits { observer?.handle(.log(nil, .warning, warning, time: Clock.wall())) }
        var run = RunEvents(graph: graph, observer: observer, lossCause: scaling.map { scaling in { scaling.whyLost($0) } })
        var cancelSent = false
        var ending: Value?
        var clusterFailure: Error?
        var failedAt = 0.0
        while ending == nil {
            if (Interruption.requested || clusterFailure != nil) && !cancelSent {
                try? driver.send(["op": "cancel"])
                cancelSent = true
            }
            if clusterFailure == nil, let scaling {
                do { try scaling.check() } catch {
                    clusterFailure = error
                    failedAt = Clock.monotonic()
                }
            }
            if clusterFailure != nil && Clock.monotonic() - failedAt > Self.failedClusterGrace { break }
            guard let event = try driver.next(wait: 0.1) else { continue }
            switch event["event"]?.stringValue {
            case "done", "cancelled", "error", "refused": ending = event
            case "workers": try scale(event, driver: driver)
            case "retired": try scaling?.retired(event["workers"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                                 group: event["group"]?.stringValue ?? "")
            default: try run.handle(event)
            }
        }
        driver.finish(grace: clusterFailure == nil ? Self.shutdownGrace : Self.failedClusterGrace)
        finished = true
        if let clusterFailure { throw clusterFailure }
        if ending?["event"] == "refused" { throw ClusterRefusal(description: ending?["message"]?.stringValue ?? "the Dask cluster cannot run this flow") }
        if ending?["event"] == "error" {
            try scaling?.checkCause()
            throw RunFailure(ending?["message"]?.stringValue ?? "the Dask run failed")
        }
        if let peak = ending?["peak_rss"]?.intValue {
            observer?.handle(.log(nil, .debug, "The Dask driver's peak RSS: \(peak >> 20) MiB", time: Clock.wall()))
        }
        if let reportPath { observer?.handle(.log(nil, .info, "Dask's performance report of the run: \(reportPath)", time: Clock.wall())) }
        let cancelled = ending?["event"] == "cancelled"
        return run.finish(cancelled: cancelled, wall: Clock.monotonic() - started)
    }

    /// Passes a `workers` report on to the scaling, and its wish to retire some to the driver.
    private func scale(_ event: Value, driver: DriverProcess) throws {
        guard let scaling else { return }
        let requests = try scaling.observe(WorkerDemand(event: event), workers: event["workers"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for r in requests where r.count > 0 {
            var frame: Value = ["op": "retire", "count": .int(Int64(r.count)), "group": .text(r.group)]
            if let among = r.among { frame["among"] = .array(among.map(Value.text)) }
            try driver.send(frame)
        }
    }

    /// - Parameter measured: the seconds tasks (a mapped task: its children) took in an earlier
    ///   run, by slug: each task of a definition (task name) measured there gets its typical
    ///   duration as its "cost" (a mapped task's, its children's).
    func startMessage(graph: FlowGraph, payload: [UInt8], context: FlowRunContext, settings: Value,
                      measured: [String: [Double]] = [:]) -> Value {
        let limits = graph.spec.limits
        let costs = Self.typicalDurations(graph, measured: measured)
        let tasks = (0 ..< graph.count).map { t -> Value in
            let task = graph.spec.tasks[t]
            var fields: Value = ["slug": .text(task.slug), "source": .text(task.source.description),
                    "upstream": .array(graph.upstream[t].map { .text(graph.spec.tasks[$0].slug) }),
                    "mapped": .bool(graph.isMapped(t)), "priority": .int(Int64(task.priority)),
                    "child_by_child": .array(graph.upstream[t].filter { graph.mapsChildByChild(t, over: $0) }
                        .map { .text(graph.spec.tasks[$0].slug) }),
                    "resources": Value(textKeys: task.resources.mapValues(Value.float)),
                    "limited": .array(Set(task.tags.filter { limits[$0] != nil }).sorted().map(Value.text))]
            if !task.fuses { fields["fuse"] = false }  // the driver fuses by default (docs/dask.md, Fusion)
            if task.fuses, let cost = costs[Definition(name: task.name, mapped: graph.isMapped(t))] {
                fields["cost"] = .float(cost)
                fields["definition"] = .text(task.name)
            }
            return fields
        }
        var message: [Value: Value] = [
            "run_id": .text(context.id), "context": context.value, "payload": .string(payload), "hash": .text(Digests.sha256Hex(payload)),
            "payload_version": .int(Payload.version), "tasks": .array(tasks), "executor": settings,
            "limits": Value(textKeys: limits.mapValues { .int(Int64($0)) }),
        ]
        // Workers of a cluster we start run on this machine, so they can use this dkrun.
        if settings["address"] == nil { message["dkrun"] = .text(Files.executablePath) }
        if let scaling { message["scaling"] = ["interval": .float(scaling.reportInterval)] }
        return .map(message)
    }

    /// What tasks share a typical duration: a task name, its mapped calls apart (their many
    /// cheap children must not make a slow unmapped call of the same function look cheap).
    struct Definition: Hashable {
        let name: String
        let mapped: Bool
    }

    /// The median of the measured durations of each definition's tasks (a mapped task's
    /// children count as its tasks).
    static func typicalDurations(_ graph: FlowGraph, measured: [String: [Double]]) -> [Definition: Double] {
        var byDefinition: [Definition: [Double]] = [:]
        for t in 0 ..< graph.count {
            let task = graph.spec.tasks[t]
            if let ds = measured[task.slug], !ds.isEmpty {
                byDefinition[Definition(name: task.name, mapped: graph.isMapped(t)), default: []] += ds
            }
        }
        return byDefinition.mapValues { ds in
            let sorted = ds.sorted()
            let mid = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        }
    }
}

/// A cluster that cannot run the flow as it is: a task needs resources no worker offers.
/// Bad input: the flow or the cluster must change, and nothing ran.
struct ClusterRefusal: CategorizedError {
    let description: String
    var exitStatus: ExitStatus { .badInput }
}

/// The driver's events as run events, and the task states they carry.
struct RunEvents {
    let graph: FlowGraph
    let observer: RunObserver?
    /// Why the workers a failed task's message names died, when the cluster knows.
    let lossCause: ((String) -> String?)?
    private var states: [String: TaskState] = [:]
    private var counts: [StateKind: Int] = [:]
    /// Each task run's last final state: the driver reports a finished task again, Failed,
    /// when the result it kept was lost with its workers too often (python/dkrun_dask/driver.py).
    private var finalKinds: [TaskRunID: StateKind] = [:]

    init(graph: FlowGraph, observer: RunObserver?, lossCause: ((String) -> String?)? = nil) {
        self.graph = graph
        self.observer = observer
        self.lossCause = lossCause
    }

    mutating func handle(_ event: Value) throws {
        let now = Clock.wall()
        let id = TaskRunID(task: event["task"]?.stringValue ?? "", mapIndex: event["map_index"]?.intValue.map(Int.init))
        let worker = event["worker"]?.stringValue
        let attempt = Int(event["attempt"]?.intValue ?? 1)
        switch event["event"]?.stringValue {
        case "cluster":
            var text = "Dask scheduler \(event["address"]?.stringValue ?? "?")"
            if event["temporary"] == true { text += " (a temporary cluster for this run)" }
            if let link = event["dashboard"]?.stringValue { text += ", dashboard \(link)" }
            observer?.handle(.log(nil, .info, text, time: now))
        case "warning":
            observer?.handle(.log(nil, .warning, event["message"]?.stringValue ?? "", time: now))
        case "fusion":
            let tasks = event["tasks"]?.intValue ?? 0, daskTasks = event["dask_tasks"]?.intValue ?? 0
            let batched = event["batched"]?.intValue ?? 0
            if let mapped = event["mapped"]?.stringValue {
                observer?.handle(.log(nil, .debug, "Fusion: the \(tasks) children of \(mapped) run as \(daskTasks) "
                                      + "Dask tasks (\(batched) cheap children batched)", time: now))
            } else {
                observer?.handle(.log(nil, .debug, "Fusion: \(tasks) tasks run as \(daskTasks) Dask tasks "
                                      + "(\(batched) cheap tasks batched; mapped tasks' children counted apart)",
                                      time: now))
            }
        case "running":
            observer?.handle(.taskState(id, TaskState(.running), attempt: attempt, duration: nil, worker: worker, time: now))
        case "retrying", "looped":
            guard graph.index[id.task] != nil else { throw RunFailure("the Dask driver named an unknown task '\(id.task)'") }
            let kind: StateKind = event["event"] == "retrying" ? .retrying : .looped
            let state = TaskState(kind, message: event["message"]?.stringValue)
            observer?.handle(.taskState(id, state, attempt: attempt, duration: nil, worker: worker, time: now))
        case "log":
            let level = event["level"]?.stringValue.flatMap(LogLevel.init(name:)) ?? .info
            observer?.handle(.log(id, level, event["message"]?.stringValue ?? "", time: now))
        case "state":
            guard case .string(let bytes)? = event["state"] else { throw RunFailure("the Dask driver sent a state without bytes") }
            var state = try TaskState(value: MessagePack.decode(bytes))
            if state.isFailed, let message = state.message, let cause = lossCause?(message) {
                state.message = message + " " + cause
            }
            if let previous = finalKinds.updateValue(state.kind, forKey: id) {
                counts[previous, default: 0] -= 1
                if counts[previous] == 0 { counts[previous] = nil }
            }
            counts[state.kind, default: 0] += 1
            if id.mapIndex == nil { states[id.task] = state }
            observer?.handle(.taskState(id, state, attempt: Int(event["attempts"]?.intValue ?? 0),
                                        duration: event["duration"]?.numberValue, worker: worker, time: now))
        default:
            throw RunFailure("the Dask driver sent an unknown event: \(JSON.encode(event))")
        }
    }

    /// The run's result; tasks without a state were cancelled.
    mutating func finish(cancelled: Bool, wall: Double) -> FlowRunResult {
        for task in graph.spec.tasks where states[task.slug] == nil {
            let state = TaskState(.cancelled, message: "The flow run was interrupted before this task finished")
            states[task.slug] = state
            counts[.cancelled, default: 0] += 1
            observer?.handle(.taskState(TaskRunID(task: task.slug), state, attempt: 0, duration: nil, time: Clock.wall()))
        }
        let state = cancelled ? TaskState(.cancelled, message: "The flow run was interrupted")
            : TaskRules.flowState(graph) { [states] in states[graph.spec.tasks[$0].slug]! }
        observer?.handle(.flowFinished(flow: graph.spec.name, state: state, counts: counts, wall: wall, time: Clock.wall()))
        return FlowRunResult(state: state, taskStates: states, wall: wall)
    }
}
