@testable import DKCore
import Testing

/// How a scripted attempt ends: the outcome the invoker gives, the state it puts the task in,
/// and the state of a task downstream of it.
enum Ending: CaseIterable, CustomTestStringConvertible {
    case succeeds, fails, skips, timesOut

    var testDescription: String { "\(self)" }

    static let traceback = "stack traceback:\n\tflow.lua:1: in function 'a'"

    func outcome(result: Value) -> TaskOutcome {
        switch self {
        case .succeeds: return .success(result)
        case .fails: return .failed(message: "boom", traceback: Ending.traceback)
        case .skips: return .skipped(message: "nothing to do")
        case .timesOut: return .timedOut(message: "Task timed out after 1.0 s")
        }
    }

    func state(result: Value) -> TaskState {
        switch self {
        case .succeeds: return TaskState(.success, result: result)
        case .fails: return TaskState(.failed, message: "boom", traceback: Ending.traceback)
        case .skips: return TaskState(.skipped, message: "nothing to do")
        case .timesOut: return TaskState(.timedOut, message: "Task timed out after 1.0 s")
        }
    }

    /// The state of a task with the default trigger and skip rule when one of its upstream
    /// tasks ended this way and the others succeeded; nil when it runs.
    var downstreamState: TaskState? {
        switch self {
        case .succeeds: return nil
        case .fails, .timesOut: return TaskState(.triggerFailed, message: "Trigger was \"all_successful\" but some of the upstream tasks failed")
        case .skips: return TaskState(.skipped, message: "Upstream task was skipped")
        }
    }
}

/// The states of a run that ends in `kind`: Running then the end, both of attempt 1, for a
/// run that was called once; the end alone, of attempt 0, for one that never ran.
func steps(called: Bool, ending kind: StateKind) -> [Step] {
    called ? [Step(kind: .running, attempt: 1), Step(kind: kind, attempt: 1)] : [Step(kind: kind, attempt: 0)]
}

@Suite struct FlowRunnerTests {
    /// Flows that start at task "a", whose ending each case chooses.
    enum Shape: CaseIterable, CustomTestStringConvertible {
        case single, chain, fanOut, fanIn, diamond, mapped, mappedReduce

        var testDescription: String { "\(self)" }

        var spec: FlowSpec {
            switch self {
            case .single:
                return testFlow(testTask("a"))
            case .chain:
                return testFlow(testTask("a"), testTask("b", ["x": .result(of: "a")]), testTask("c", ["x": .result(of: "b")]))
            case .fanOut:
                return testFlow(testTask("a"), testTask("b", ["x": .result(of: "a")]), testTask("c", ["x": .result(of: "a")]))
            case .fanIn:
                return testFlow(testTask("a"), testTask("b"), testTask("c", ["x": .result(of: "a"), "y": .result(of: "b")]))
            case .diamond:
                return testFlow(testTask("a"), testTask("b", ["x": .result(of: "a")]), testTask("c", ["x": .result(of: "a")]),
                                testTask("d", ["x": .result(of: "b"), "y": .result(of: "c")]))
            case .mapped:
                return testFlow(testTask("a"), testTask("m", ["xs": .mapped(over: "a")]),
                                testTask("n", ["ys": .mapped(over: "m"), "all": .result(of: "a")]))
            case .mappedReduce:
                return testFlow(testTask("a"), testTask("m", ["xs": .mapped(over: "a")]), testTask("r", ["xs": .result(of: "m")]))
            }
        }

        /// What "a" returns when it succeeds: the mapped shapes map over it.
        var resultOfA: Value { self == .mapped || self == .mappedReduce ? [10, 20, 30] : "a" }

        /// Every task's final state when every task succeeds.
        var statesWhenAllSucceed: [String: TaskState] {
            switch self {
            case .single: return ["a": succeeded("a")]
            case .chain, .fanOut, .fanIn: return ["a": succeeded("a"), "b": succeeded("b"), "c": succeeded("c")]
            case .diamond: return ["a": succeeded("a"), "b": succeeded("b"), "c": succeeded("c"), "d": succeeded("d")]
            case .mapped: return ["a": TaskState(.success, result: resultOfA), "m": mappedSucceeded("m", 3), "n": mappedSucceeded("n", 3)]
            case .mappedReduce: return ["a": TaskState(.success, result: resultOfA), "m": mappedSucceeded("m", 3), "r": succeeded("r")]
            }
        }

        /// The arguments of each run when every task succeeds.
        var argumentsWhenAllSucceed: [String: [String: Value]] {
            switch self {
            case .single: return ["a": [:]]
            case .chain: return ["a": [:], "b": ["x": "a"], "c": ["x": "b"]]
            case .fanOut: return ["a": [:], "b": ["x": "a"], "c": ["x": "a"]]
            case .fanIn: return ["a": [:], "b": [:], "c": ["x": "a", "y": "b"]]
            case .diamond: return ["a": [:], "b": ["x": "a"], "c": ["x": "a"], "d": ["x": "b", "y": "c"]]
            case .mapped:
                return ["a": [:], "m[0]": ["xs": 10], "m[1]": ["xs": 20], "m[2]": ["xs": 30],
                        "n[0]": ["ys": "m[0]", "all": resultOfA], "n[1]": ["ys": "m[1]", "all": resultOfA],
                        "n[2]": ["ys": "m[2]", "all": resultOfA]]
            case .mappedReduce:
                return ["a": [:], "m[0]": ["xs": 10], "m[1]": ["xs": 20], "m[2]": ["xs": 30], "r": ["xs": ["m[0]", "m[1]", "m[2]"]]]
            }
        }

        /// The reference (terminal) tasks, as a Failed flow's message lists them.
        var referenceTasks: String {
            switch self {
            case .single: return "a"
            case .chain, .fanIn: return "c"
            case .fanOut: return "b, c"
            case .diamond: return "d"
            case .mapped: return "n"
            case .mappedReduce: return "r"
            }
        }
    }

    /// The tasks that depend on `slug`, directly or not.
    private func tasks(after slug: String, in graph: FlowGraph) -> Set<String> {
        var found: Set<String> = []
        var next = graph.downstream[graph.index[slug]!]
        while let t = next.popLast() {
            if found.insert(graph.spec.tasks[t].slug).inserted { next += graph.downstream[t] }
        }
        return found
    }

    static let shapesAndEndings = Shape.allCases.flatMap { shape in Ending.allCases.map { (shape, $0) } }

    /// A run that reports no results (`dkrun FLOW.lua`) lets a task's result go once the tasks
    /// downstream of it have ended: they still get it, its state keeps its kind (and a mapped
    /// task its children's), and the reference tasks keep theirs.
    @Test(arguments: ExecutorKind.all)
    func resultsNothingReadsAreLetGo(on executor: ExecutorKind) throws {
        let flow = testFlow(testTask("a"), testTask("b", ["x": .result(of: "a")]), testTask("c", ["x": .result(of: "b")]),
                            testTask("l"), testTask("m", ["x": .mapped(over: "l")]), testTask("n", ["xs": .result(of: "m")]),
                            referenceTasks: ["b", "c", "n"])
        let script = InvokerScript(outcomes: ["l": [.success([1, 2])]])

        let run = try runFlow(flow, script: script, on: executor, releasesResults: true)

        #expect(run.result.taskStates == [
            "a": TaskState(.success), "b": succeeded("b"), "c": succeeded("c"), "l": TaskState(.success),
            "m": TaskState(.mapped, message: "Mapped 2 items", children: [TaskState(.success), TaskState(.success)]),
            "n": succeeded("n"),
        ])
        #expect(run.argumentsByRun["b"] == ["x": "a"])
        #expect(run.argumentsByRun["c"] == ["x": "b"])
        #expect(run.argumentsByRun["m[1]"] == ["x": 2])
        #expect(run.argumentsByRun["n"] == ["xs": ["m[0]", "m[1]"]])
        #expect(run.result.state == allReferenceTasksSucceeded)
    }

    @Test(arguments: shapesAndEndings, ExecutorKind.all)
    func anEndingReachesEveryTaskAfterIt(_ shapeAndEnding: (Shape, Ending), on executor: ExecutorKind) throws {
        let (shape, ending) = shapeAndEnding
        let graph = try FlowGraph(shape.spec)
        let after = tasks(after: "a", in: graph)
        var states = shape.statesWhenAllSucceed
        var arguments = shape.argumentsWhenAllSucceed
        states["a"] = ending.state(result: shape.resultOfA)
        if let downstream = ending.downstreamState {
            for slug in after {
                // As Prefect 1: a mapped task with nothing successful to map over fails.
                states[slug] = downstream.isFailed && graph.isMapped(graph.index[slug]!) ? nothingToMapOver : downstream
            }
            arguments = arguments.filter { run, _ in !after.contains(String(run.prefix { $0 != "[" })) }
        }
        let flowState = [.fails, .timesOut].contains(ending)
            ? TaskState(.failed, message: "Some reference tasks failed: \(shape.referenceTasks)") : allReferenceTasksSucceeded

        let run = try runFlow(shape.spec, script: InvokerScript(outcomes: ["a": [ending.outcome(result: shape.resultOfA)]]), on: executor)

        #expect(run.result.taskStates == states)
        #expect(run.result.state == flowState)
        #expect(run.argumentsByRun == arguments)
        #expect(run.calls.map(\.attempt) == Array(repeating: 1, count: arguments.count))
        for (slug, state) in states {
            #expect(run.steps(of: slug) == steps(called: arguments[slug] != nil, ending: state.kind), "\(slug)")
        }
        for child in arguments.keys where child.contains("[") {
            #expect(run.steps(of: child) == steps(called: true, ending: .success), "\(child)")
        }
        #expect(run.startsBeforeUpstreamFinished == [])
        #expect(run.flowStarted == "f: \(graph.count) tasks on \(executor.testDescription)")
        #expect(run.flowFinished?.state == flowState)
        #expect(run.flowFinished?.counts == Dictionary(states.values.flatMap { [$0] + $0.children }.map { ($0.kind, 1) },
                                                         uniquingKeysWith: +))
    }

    private let nothingToMapOver = TaskState(.failed, message: "No upstream states can be mapped over.")

    /// A child of a mapped task ends alone: its task is Mapped whatever the children did,
    /// and each child of a task mapped over it sees only its own upstream child.
    @Test(arguments: [Ending.fails, .skips, .timesOut], ExecutorKind.all)
    func aMappedChildEndsAlone(_ ending: Ending, on executor: ExecutorKind) throws {
        let script = InvokerScript(outcomes: ["a": [.success([10, 20, 30])], "m[1]": [ending.outcome(result: .null)]])

        let run = try runFlow(Shape.mapped.spec, script: script, on: executor)

        let failed = ending == .skips ? "" : "; 1 failed"
        let m = [succeeded("m[0]"), ending.state(result: .null), succeeded("m[2]")]
        let n = [succeeded("n[0]"), ending.downstreamState!, succeeded("n[2]")]
        #expect(run.result.taskStates["m"] == TaskState(.mapped, message: "Mapped 3 items\(failed)", result: ["m[0]", nil, "m[2]"], children: m))
        #expect(run.result.taskStates["n"] == TaskState(.mapped, message: "Mapped 3 items\(failed)", result: ["n[0]", nil, "n[2]"], children: n))
        #expect(run.steps(of: "n[1]") == steps(called: false, ending: n[1].kind))
        #expect(run.argumentsByRun["n[2]"] == ["ys": "m[2]", "all": [10, 20, 30]])
        #expect(Set(run.calls.map(\.run)) == ["a", "m[0]", "m[1]", "m[2]", "n[0]", "n[2]"])
        #expect(run.startsBeforeUpstreamFinished == [])
        // As Prefect 1: the mapped reference task counts as its children.
        #expect(run.result.state.kind == (ending == .skips ? .success : .failed))
    }

    @Test(arguments: [
        (.array([]), TaskState(.mapped, message: "Mapped over no items", result: []),
         TaskState(.mapped, message: "Mapped over no items", result: [])),
        ("abc", TaskState(.failed, message: "At least one upstream state has an unmappable result: argument 'xs' is a string, not an array"),
         TaskState(.failed, message: "No upstream states can be mapped over.")),
    ] as [(Value, TaskState, TaskState)], ExecutorKind.all)
    func aMappedTaskEndsWithoutChildren(_ expected: (Value, TaskState, TaskState), on executor: ExecutorKind) throws {
        let (resultOfA, m, n) = expected
        let run = try runFlow(Shape.mapped.spec, script: InvokerScript(outcomes: ["a": [.success(resultOfA)]]), on: executor)

        #expect(run.result.taskStates["m"] == m)
        #expect(run.result.taskStates["n"] == n)
        #expect(run.steps(of: "m") == steps(called: false, ending: m.kind))
        #expect(run.calls.map(\.run) == ["a"])
    }

    struct RetryCase: CustomTestStringConvertible {
        var maxRetries: Int
        var failedAttempts: Int
        var failure: Ending

        var testDescription: String { "max_retries \(maxRetries), \(failedAttempts) attempts \(failure)" }

        static let all = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 1), (2, 2), (2, 3)].flatMap { retries, failed in
            [Ending.fails, .timesOut].map { RetryCase(maxRetries: retries, failedAttempts: failed, failure: $0) }
        }
    }

    /// Task b of a -> b -> c fails its first attempts and has retries (with no delay).
    @Test(arguments: RetryCase.all, ExecutorKind.all)
    func failedAttemptsAreRetried(_ c: RetryCase, on executor: ExecutorKind) throws {
        let flow = testFlow(testTask("a"), testTask("b", ["x": .result(of: "a")]) { $0.maxRetries = c.maxRetries },
                            testTask("c", ["x": .result(of: "b")]))
        let failure = c.failure.outcome(result: .null)
        let script = InvokerScript(outcomes: ["b": Array(repeating: failure, count: c.failedAttempts) + [.success("b")]])

        let run = try runFlow(flow, script: script, on: executor)

        let attempts = min(c.failedAttempts, c.maxRetries) + 1
        let succeeds = c.failedAttempts <= c.maxRetries
        let failed = c.failure.state(result: .null)
        let b = succeeds ? succeeded("b") : failed
        #expect(run.calls.filter { $0.run == "b" }.map(\.attempt) == Array(1 ... attempts))
        #expect(run.calls.filter { $0.run == "b" }.allSatisfy { $0.arguments == ["x": "a"] })
        let retried = (1 ..< attempts).flatMap { [Step(kind: .running, attempt: $0), Step(kind: .retrying, attempt: $0)] }
        #expect(run.steps(of: "b") == retried + [Step(kind: .running, attempt: attempts), Step(kind: b.kind, attempt: attempts)])
        #expect(run.retryMessages(of: "b") == (1 ..< attempts).map { "\(failed.message!); retry \($0) of \(c.maxRetries) in 0 µs" })
        #expect(run.result.taskStates["b"] == b)
        #expect(run.result.taskStates["c"] == (succeeds ? succeeded("c") : Ending.fails.downstreamState!))
        #expect(run.result.state == (succeeds ? allReferenceTasksSucceeded : TaskState(.failed, message: "Some reference tasks failed: c")))
        #expect(run.startsBeforeUpstreamFinished == [])
    }

    @Test(arguments: ExecutorKind.all)
    func aMappedChildIsRetriedAlone(on executor: ExecutorKind) throws {
        let flow = testFlow(testTask("a"), testTask("m", ["xs": .mapped(over: "a")]) { $0.maxRetries = 1 },
                            testTask("n", ["ys": .mapped(over: "m")]))
        let script = InvokerScript(outcomes: ["a": [.success([10, 20, 30])], "m[1]": [.failed(message: "flaky", traceback: nil), .success("m[1]")]])

        let run = try runFlow(flow, script: script, on: executor)

        #expect(run.steps(of: "m[1]") == [Step(kind: .running, attempt: 1), Step(kind: .retrying, attempt: 1),
                                          Step(kind: .running, attempt: 2), Step(kind: .success, attempt: 2)])
        #expect(run.retryMessages(of: "m[1]") == ["flaky; retry 1 of 1 in 0 µs"])
        #expect(run.calls.filter { $0.run == "m[1]" }.map(\.attempt) == [1, 2])
        #expect(run.steps(of: "m[0]") == steps(called: true, ending: .success))
        #expect(run.steps(of: "m") == [Step(kind: .mapped, attempt: 0)])
        #expect(run.result.taskStates["m"] == mappedSucceeded("m", 3))
        #expect(run.argumentsByRun["n[1]"] == ["ys": "m[1]"])
        #expect(run.result.state == allReferenceTasksSucceeded)
    }

    /// An interrupted attempt (the invoker stopped it) is cancelled, never retried. (The
    /// downstream tasks and the flow's state depend on the process-wide interruption flag,
    /// which these tests leave alone.)
    @Test(arguments: ExecutorKind.all)
    func anInterruptedAttemptIsNotRetried(on executor: ExecutorKind) throws {
        let flow = testFlow(testTask("a") { $0.maxRetries = 2 })

        let run = try runFlow(flow, script: InvokerScript(outcomes: ["a": [.interrupted]]), on: executor)

        #expect(run.result.taskStates["a"] == TaskState(.cancelled, message: "Interrupted"))
        #expect(run.steps(of: "a") == steps(called: true, ending: .cancelled))
    }

    struct TriggerCase: CustomTestStringConvertible {
        var trigger: Trigger
        var skipOnUpstreamSkip = true
        var upstream: (Ending, Ending)
        /// The state "t" ends in without running; nil when it runs.
        var stops: TaskState?

        var testDescription: String {
            "\(trigger.name)\(skipOnUpstreamSkip ? "" : ", skip off") after \(upstream.0), \(upstream.1)"
        }

        static func triggerFailed(_ trigger: String, _ why: String) -> TaskState {
            TaskState(.triggerFailed, message: "Trigger was \"\(trigger)\" but \(why)")
        }

        static let upstreamSkipped = TaskState(.skipped, message: "Upstream task was skipped")

        static let all = [
            TriggerCase(trigger: .allSuccessful, upstream: (.succeeds, .succeeds)),
            TriggerCase(trigger: .allSuccessful, upstream: (.succeeds, .fails),
                        stops: triggerFailed("all_successful", "some of the upstream tasks failed")),
            TriggerCase(trigger: .allSuccessful, upstream: (.skips, .succeeds), stops: upstreamSkipped),
            TriggerCase(trigger: .allSuccessful, skipOnUpstreamSkip: false, upstream: (.skips, .succeeds)),
            TriggerCase(trigger: .allFinished, upstream: (.fails, .timesOut)),
            TriggerCase(trigger: Trigger(name: "always_run")!, upstream: (.fails, .succeeds)),
            TriggerCase(trigger: .allFinished, upstream: (.skips, .fails), stops: upstreamSkipped),
            TriggerCase(trigger: .allFinished, skipOnUpstreamSkip: false, upstream: (.skips, .fails)),
            TriggerCase(trigger: .allFailed, upstream: (.fails, .timesOut)),
            TriggerCase(trigger: .allFailed, upstream: (.fails, .succeeds),
                        stops: triggerFailed("all_failed", "some of the upstream tasks succeeded")),
            TriggerCase(trigger: .allFailed, skipOnUpstreamSkip: false, upstream: (.skips, .fails),
                        stops: triggerFailed("all_failed", "some of the upstream tasks succeeded")),
            TriggerCase(trigger: .anySuccessful, upstream: (.fails, .succeeds)),
            TriggerCase(trigger: .anySuccessful, upstream: (.fails, .timesOut),
                        stops: triggerFailed("any_successful", "none of the upstream tasks succeeded")),
            TriggerCase(trigger: .anyFailed, upstream: (.succeeds, .timesOut)),
            TriggerCase(trigger: .anyFailed, upstream: (.succeeds, .succeeds),
                        stops: triggerFailed("any_failed", "none of the upstream tasks failed")),
            TriggerCase(trigger: .anyFailed, upstream: (.skips, .fails), stops: upstreamSkipped),
            TriggerCase(trigger: .anyFailed, skipOnUpstreamSkip: false, upstream: (.skips, .fails)),
        ]
    }

    /// Task t(x, y) after u1 and u2, which end as the case says.
    @Test(arguments: TriggerCase.all, ExecutorKind.all)
    func triggersDecideWhetherATaskRuns(_ c: TriggerCase, on executor: ExecutorKind) throws {
        let flow = testFlow(testTask("u1"), testTask("u2"), testTask("t", ["x": .result(of: "u1"), "y": .result(of: "u2")]) {
            $0.trigger = c.trigger
            $0.skipOnUpstreamSkip = c.skipOnUpstreamSkip
        })
        let script = InvokerScript(outcomes: ["u1": [c.upstream.0.outcome(result: "u1")], "u2": [c.upstream.1.outcome(result: "u2")]])

        let run = try runFlow(flow, script: script, on: executor)

        #expect(run.result.taskStates["u1"] == c.upstream.0.state(result: "u1"))
        #expect(run.result.taskStates["u2"] == c.upstream.1.state(result: "u2"))
        let t = c.stops ?? succeeded("t")
        #expect(run.result.taskStates["t"] == t)
        #expect(run.steps(of: "t") == steps(called: c.stops == nil, ending: t.kind))
        if c.stops == nil {
            // A failed or skipped upstream task passes nil.
            let x: Value = c.upstream.0 == .succeeds ? "u1" : nil
            let y: Value = c.upstream.1 == .succeeds ? "u2" : nil
            #expect(run.argumentsByRun["t"] == ["x": x, "y": y])
        }
        #expect(run.result.state == (t.isSuccessful ? allReferenceTasksSucceeded : TaskState(.failed, message: "Some reference tasks failed: t")))
        #expect(run.startsBeforeUpstreamFinished == [])
    }

    @Test(arguments: [([:], 3), (["n": 5], 5)] as [([String: Value], Value)], ExecutorKind.all)
    func parametersAreResultsWithoutACall(_ given: ([String: Value], Value), on executor: ExecutorKind) throws {
        let (parameters, value) = given
        let flow = testFlow(testParameter("n", default: 3),
                            testTask("t", ["x": .result(of: "n"), "k": .constant("c"), "first": .element(1, of: "pair")]),
                            testTask("pair"))
        let script = InvokerScript(outcomes: ["pair": [.success(["left", "right"])]])

        let run = try runFlow(flow, parameters: parameters, script: script, on: executor)

        #expect(run.result.taskStates["n"] == TaskState(.success, result: value))
        #expect(run.steps(of: "n") == [Step(kind: .success, attempt: 1)])
        #expect(Set(run.calls.map(\.run)) == ["pair", "t"])
        #expect(run.argumentsByRun["t"] == ["x": value, "k": "c", "first": "left"])
    }
}
