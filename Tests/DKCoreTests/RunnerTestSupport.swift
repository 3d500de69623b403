@testable import DKCore
import DKTestSupport
import Testing

// What the flow runner and executor tests share: flows written as a few lines, an invoker
// that answers from a script and records what it is asked, and a run's events and calls.

// MARK: Flows

/// Where an argument of a test task comes from.
enum Argument {
    /// An upstream task's result, whole.
    case result(of: String)
    /// Element `index` (from 1) of an upstream task's result, as a `nout` handle passes it.
    case element(Int, of: String)
    /// Each element of an upstream task's result, one per child.
    case mapped(over: String)
    case constant(Value)
    case mappedConstant(Value)
}

/// A task of a test flow with the edges and constants that feed it.
struct TestTask {
    var spec: TaskSpec
    var edges: [EdgeSpec] = []
    var constants: [ConstantSpec] = []
}

/// A task taking `arguments` in order; `configure` sets its options (retries, trigger...).
func testTask(_ slug: String, _ arguments: KeyValuePairs<String, Argument> = [:],
              configure: (inout TaskSpec) -> Void = { _ in }) -> TestTask {
    var task = TestTask(spec: makeTask(slug, params: arguments.map(\.key)))
    configure(&task.spec)
    for (key, argument) in arguments {
        func edge(_ upstream: String, mapped: Bool = false, index: Int? = nil) -> EdgeSpec {
            EdgeSpec(upstream: upstream, downstream: slug, key: key, mapped: mapped, index: index, source: "f.lua:9")
        }
        switch argument {
        case .result(let upstream): task.edges.append(edge(upstream))
        case .element(let index, let upstream): task.edges.append(edge(upstream, index: index))
        case .mapped(let upstream): task.edges.append(edge(upstream, mapped: true))
        case .constant(let value): task.constants.append(ConstantSpec(task: slug, key: key, value: value, mapped: false))
        case .mappedConstant(let value): task.constants.append(ConstantSpec(task: slug, key: key, value: value, mapped: true))
        }
    }
    return task
}

func testParameter(_ slug: String, default value: Value) -> TestTask {
    TestTask(spec: makeTask(slug, parameter: ParameterSpec(defaultValue: value, required: false)))
}

/// The flow "f" of these tasks; its reference tasks are its terminal tasks unless given.
func testFlow(_ tasks: TestTask..., referenceTasks: [String]? = nil) -> FlowSpec {
    testFlow(tasks, referenceTasks: referenceTasks)
}

func testFlow(_ tasks: [TestTask], referenceTasks: [String]? = nil) -> FlowSpec {
    var flow = makeFlow(tasks.map(\.spec), tasks.flatMap(\.edges), constants: tasks.flatMap(\.constants))
    flow.referenceTasks = referenceTasks
    return flow
}

/// The state of a run that succeeded with its own name as its result, as unscripted runs do.
func succeeded(_ run: String) -> TaskState { TaskState(.success, result: .text(run)) }

/// The state of a mapped task whose `count` children all succeeded with their own names.
func mappedSucceeded(_ slug: String, _ count: Int) -> TaskState {
    let children = (0 ..< count).map { succeeded("\(slug)[\($0)]") }
    return TaskState(.mapped, message: "Mapped \(count) items", result: .array(children.map(\.result)), children: children)
}

let allReferenceTasksSucceeded = TaskState(.success, message: "All reference tasks succeeded.")

// MARK: A scripted invoker

/// How scripted invokers answer. Runs are named as `TaskRunID` prints them: "t", or "m[1]"
/// for one child of a mapped task; a task's slug also scripts all its children. Each run
/// gets the outcomes of its attempts in order, the last one repeating; a run with no script
/// succeeds with its own name as its result.
struct InvokerScript: Sendable {
    var outcomes: [String: [TaskOutcome]] = [:]
    /// Called as each attempt starts, on the thread running it (to hold a thread in a test).
    var whileRunning: (@Sendable (TaskCall) -> Void)?

    func outcome(of call: TaskCall) -> TaskOutcome {
        guard let attempts = outcomes[call.id.description] ?? outcomes[call.task.slug], !attempts.isEmpty else {
            return .success(.text(call.id.description))
        }
        return attempts[min(call.attempt, attempts.count) - 1]
    }
}

/// One call an invoker got.
struct InvokerCall: Equatable {
    var id: TaskRunID
    var arguments: [String: Value]
    var attempt: Int
    /// The name of the invoker that ran it: "local", "caller", or "thread-N" for the Nth
    /// invoker a ThreadExecutor thread made.
    var invoker: String

    var run: String { id.description }
}

/// What the invokers of one run did, in order, from any thread: their calls, and which
/// thread invokers were made and which have been released.
final class InvokerLog: @unchecked Sendable {
    private let monitor = Monitor()
    private var _calls: [InvokerCall] = []
    private var _made: [String] = []
    private var _released: [String] = []

    var calls: [InvokerCall] { monitor.locked { _calls } }
    var threadInvokersMade: [String] { monitor.locked { _made } }
    /// The thread invokers released so far, in the order they were made.
    var threadInvokersReleased: [String] { monitor.locked { _made.filter(_released.contains) } }

    func record(_ call: InvokerCall) { monitor.locked { _calls.append(call) } }

    /// A name for the next invoker a thread makes.
    func nameThreadInvoker() -> String {
        monitor.locked {
            _made.append("thread-\(_made.count + 1)")
            return _made.last!
        }
    }

    func release(_ invoker: String) { monitor.locked { _released.append(invoker) } }
}

/// A `TaskInvoker` answering from a script and recording every call in a shared log.
final class ScriptedInvoker: TaskInvoker {
    let name: String
    private let script: InvokerScript
    private let log: InvokerLog

    init(name: String, script: InvokerScript, log: InvokerLog) {
        self.name = name
        self.script = script
        self.log = log
    }

    deinit { log.release(name) }

    func invoke(_ call: TaskCall, log _: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        log.record(InvokerCall(id: call.id, arguments: call.arguments, attempt: call.attempt, invoker: name))
        script.whileRunning?(call)
        return script.outcome(of: call)
    }

    /// These tasks have no state handlers: the state stays as it is.
    func settle(_ call: TaskCall, _ state: TaskState, log _: @escaping (LogLevel, String) -> Void) -> TaskOutcome { .handled(state) }

    /// A task's "function" is its slug.
    func functionText(of task: TaskSpec) -> [UInt8] { Array(task.slug.utf8) }

    func resultStore(_ location: ResultLocation) throws -> ResultStore {
        guard case .local(let dir) = location else { throw ResultStoreError("the scripted invoker keeps results in directories only") }
        return LocalResultStore(dir: dir)
    }
}

// MARK: Synchronisation for thread tests

/// Counts down to zero once; waiters wake when it gets there. Waits give up after ten
/// seconds so a broken executor fails its test instead of hanging it.
final class Latch: @unchecked Sendable {
    private let monitor = Monitor()
    private var count: Int

    init(_ count: Int) { self.count = count }

    func countDown() {
        monitor.locked {
            count = max(0, count - 1)
            if count == 0 { monitor.broadcast() }
        }
    }

    /// Whether the count reached zero before the safety deadline.
    @discardableResult
    func wait() -> Bool {
        let deadline = Clock.monotonic() + 10
        return monitor.locked {
            while count > 0 && Clock.monotonic() < deadline { monitor.wait(until: deadline) }
            return count == 0
        }
    }
}

// MARK: Running flows

/// The executors every runner test runs on.
enum ExecutorKind: CustomTestStringConvertible {
    case local
    case threads(Int)

    static let all: [ExecutorKind] = [.local, .threads(2), .threads(4)]

    var testDescription: String {
        switch self {
        case .local: return "local"
        case .threads(let n): return "threads(\(n))"
        }
    }

    /// The executor, its invokers answering from `script` into `log`.
    func make(_ script: InvokerScript, _ log: InvokerLog) -> Executor {
        switch self {
        case .local:
            return LocalExecutor(invoker: ScriptedInvoker(name: "local", script: script, log: log))
        case .threads(let n):
            return ThreadExecutor(threads: n, callerInvoker: ScriptedInvoker(name: "caller", script: script, log: log)) { _ in
                ScriptedInvoker(name: log.nameThreadInvoker(), script: script, log: log)
            }
        }
    }
}

/// One state a run went through, as the observer saw it.
struct Step: Equatable, CustomStringConvertible {
    var kind: StateKind
    var attempt: Int
    var description: String { "\(kind.rawValue)#\(attempt)" }
}

/// A finished flow run: its result, its events and the calls its invokers got.
struct FlowRun {
    let graph: FlowGraph
    let result: FlowRunResult
    let events: [RunEvent]
    let calls: [InvokerCall]

    /// The task state events, in order.
    var stateEvents: [(id: TaskRunID, state: TaskState, attempt: Int)] {
        events.compactMap {
            guard case let .taskState(id, state, attempt, _, _, _) = $0 else { return nil }
            return (id, state, attempt)
        }
    }

    /// The states one run ("t", "m[1]") went through.
    func steps(of run: String) -> [Step] {
        stateEvents.filter { $0.id.description == run }.map { Step(kind: $0.state.kind, attempt: $0.attempt) }
    }

    /// The messages of the Retrying states of one run.
    func retryMessages(of run: String) -> [String?] {
        stateEvents.filter { $0.id.description == run && $0.state.kind == .retrying }.map(\.state.message)
    }

    /// The arguments of each run that was called (of its first attempt), by run name.
    var argumentsByRun: [String: [String: Value]] {
        Dictionary(calls.map { ($0.run, $0.arguments) }, uniquingKeysWith: { first, _ in first })
    }

    /// Runs that started before one of their task's upstream tasks had finished, as
    /// "run before upstream" (an empty list is what a correct run gives). A child of a task
    /// that maps over a mapped task child by child waits for its own upstream child only
    /// (depth-first).
    var startsBeforeUpstreamFinished: [String] {
        let events = stateEvents
        var violations: [String] = []
        for (position, event) in events.enumerated() where event.state.kind == .running {
            let t = graph.index[event.id.task]!
            for u in graph.upstream[t] {
                let upstream = TaskRunID(task: graph.spec.tasks[u].slug, mapIndex: graph.mapsChildByChild(t, over: u) ? event.id.mapIndex : nil)
                let finished = events.firstIndex { $0.id == upstream && $0.state.isFinished }
                if finished.map({ $0 > position }) ?? true { violations.append("\(event.id) before \(upstream)") }
            }
        }
        return violations
    }

    /// The first event, if it is the flow's start: "flow: N tasks on EXECUTOR".
    var flowStarted: String? {
        guard case let .flowStarted(flow, tasks, executor, _)? = events.first else { return nil }
        return "\(flow): \(tasks) tasks on \(executor)"
    }

    /// The last event, if it is the flow's end: the flow's state and how many tasks ended in each kind.
    var flowFinished: (state: TaskState, counts: [StateKind: Int])? {
        guard case let .flowFinished(_, state, counts, _, _)? = events.last else { return nil }
        return (state, counts)
    }
}

/// Runs a flow on one of the test executors, answering from `script`.
func runFlow(_ spec: FlowSpec, parameters: [String: Value] = [:], script: InvokerScript = InvokerScript(),
             on kind: ExecutorKind, releasesResults: Bool = false) throws -> FlowRun {
    let log = InvokerLog()
    return try runFlow(spec, parameters: parameters, executor: kind.make(script, log), log: log, releasesResults: releasesResults)
}

/// Runs a flow on `executor` and shuts the executor down; `log` is where its invokers record.
func runFlow(_ spec: FlowSpec, parameters: [String: Value] = [:], executor: Executor, log: InvokerLog,
             releasesResults: Bool = false) throws -> FlowRun {
    let graph = try FlowGraph(spec)
    let recorder = EventRecorder()
    let context = FlowRunContext(flowName: spec.name, parameters: try graph.resolveParameters(parameters))
    let runner = FlowRunner(graph: graph, context: context, executor: executor, observer: recorder, releasesResults: releasesResults)
    let result = runner.run()
    executor.shutdown()
    return FlowRun(graph: graph, result: result, events: recorder.events, calls: log.calls)
}
