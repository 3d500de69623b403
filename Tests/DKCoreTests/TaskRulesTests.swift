@testable import DKCore
import Testing

// These rules read the process-wide interruption flag (retries stop after Ctrl-C); the
// tests leave it unset, as setting it would disturb the tests running alongside.

@Suite struct TaskRulesTests {
    private func task(_ trigger: Trigger = .allSuccessful, skipOnUpstreamSkip: Bool = true, maxRetries: Int = 0,
                      retryDelay: Double = 0) -> TaskSpec {
        var task = makeTask("t")
        task.trigger = trigger
        task.skipOnUpstreamSkip = skipOnUpstreamSkip
        task.maxRetries = maxRetries
        task.retryDelay = retryDelay
        return task
    }

    static let upstreamSkipped = TaskState(.skipped, message: "Upstream task was skipped")

    @Test(arguments: [
        (Trigger.allSuccessful, true, [StateKind.success, .mapped], nil as TaskState?),
        (.allSuccessful, true, [.success, .skipped], upstreamSkipped),
        (.allSuccessful, false, [.success, .skipped], nil),
        (.allSuccessful, false, [.success, .cancelled],
         TaskState(.triggerFailed, message: "Trigger was \"all_successful\" but some of the upstream tasks failed")),
        (.allFinished, true, [.failed, .skipped], upstreamSkipped),
        (.allFinished, false, [.failed, .skipped], nil),
        (.allFailed, true, [], nil),
        (.allFailed, true, [.failed, .mapped],
         TaskState(.triggerFailed, message: "Trigger was \"all_failed\" but some of the upstream tasks succeeded")),
        (.anySuccessful, true, [.timedOut, .triggerFailed],
         TaskState(.triggerFailed, message: "Trigger was \"any_successful\" but none of the upstream tasks succeeded")),
        (.anyFailed, true, [.success, .cancelled],
         TaskState(.triggerFailed, message: "Trigger was \"any_failed\" but none of the upstream tasks failed")),
        (.manualOnly, true, [.success], TaskState(.paused, message: "Trigger function is \"manual_only\"")),
        (.manualOnly, true, [], TaskState(.paused, message: "Trigger function is \"manual_only\"")),
        (.allSuccessful, true, [.success, .paused], TaskState(.pending, message: "Waiting for a paused upstream task")),
        (.allFinished, false, [.pending], TaskState(.pending, message: "Waiting for a paused upstream task")),
        (.notAllSkipped, false, [.skipped, .skipped], TaskState(.skipped, message: "All upstreams were skipped")),
        (.notAllSkipped, false, [.skipped, .failed],
         TaskState(.triggerFailed, message: "Trigger was \"not_all_skipped\" but some of the upstream tasks failed")),
        (.someFailed(atLeast: 0.5, atMost: nil), true, [.success, .failed, .success],
         TaskState(.triggerFailed, message: "Trigger was \"some_failed\" but 1 of 3 upstream tasks failed")),
    ])
    func preflightSkipsBeforeTheTriggerDecides(trigger: Trigger, skipOnUpstreamSkip: Bool, upstream: [StateKind], ends: TaskState?) {
        #expect(TaskRules.preflight(task(trigger, skipOnUpstreamSkip: skipOnUpstreamSkip), upstream.map { TaskState($0) },
                                    hasUpstream: !upstream.isEmpty) == ends)
    }

    /// A mapped upstream without children leaves nothing to look at, but it is there:
    /// Prefect's any_* then fail, all_* pass.
    @Test(arguments: [
        (Trigger.anySuccessful, StateKind.triggerFailed as StateKind?), (.anyFailed, .triggerFailed),
        (.allSuccessful, nil), (.allFailed, nil), (.someFailed(atLeast: 1, atMost: nil), .triggerFailed),
    ])
    func aMappedUpstreamWithoutChildrenStillCounts(trigger: Trigger, ends: StateKind?) {
        #expect(TaskRules.preflight(task(trigger), [], hasUpstream: true)?.kind == ends)
    }

    /// Handlers are called on a change of state: a task held Pending has none.
    @Test(arguments: [(true, StateKind.triggerFailed, true), (true, .skipped, true), (true, .paused, true),
                      (true, .pending, false), (false, .triggerFailed, false)])
    func handlersSettleAChangeOfState(hasHandlers: Bool, kind: StateKind, settles: Bool) {
        var spec = task()
        spec.hasStateHandlers = hasHandlers
        #expect(TaskRules.handlersSettle(spec, TaskState(kind)) == settles)
    }

    @Test(arguments: [
        (TaskOutcome.success(["a": 1]), TaskState(.success, result: ["a": 1])),
        (.failed(message: "boom", traceback: "stack traceback:\n\tflow.lua:3"),
         TaskState(.failed, message: "boom", traceback: "stack traceback:\n\tflow.lua:3")),
        (.failed(message: "no luck", traceback: nil), TaskState(.failed, message: "no luck")),
        (.skipped(message: "nothing new"), TaskState(.skipped, message: "nothing new")),
        (.timedOut(message: "Task timed out after 2.0 s"), TaskState(.timedOut, message: "Task timed out after 2.0 s")),
        (.interrupted, TaskState(.cancelled, message: "Interrupted")),
        (.paused(message: "approve"), TaskState(.paused, message: "approve")),
        (.looped(result: 2, message: "more"), TaskState(.looped, message: "more", result: 2)),
    ])
    func anAttemptsOutcomeIsAState(outcome: TaskOutcome, state: TaskState) {
        #expect(TaskRules.state(after: outcome) == state)
    }

    @Test(arguments: [
        (StateKind.failed, 0, 1, false),
        (.failed, 1, 1, true),
        (.failed, 1, 2, false),
        (.failed, 2, 2, true),
        (.failed, 2, 3, false),
        (.timedOut, 1, 1, true),
        (.success, 3, 1, false),
        (.skipped, 3, 1, false),
        (.cancelled, 3, 1, false),
    ])
    func failedAttemptsAreRetriedWhileRetriesAreLeft(kind: StateKind, maxRetries: Int, attempt: Int, retries: Bool) {
        var call = TaskCall(id: TaskRunID(task: "t"), task: task(maxRetries: maxRetries), arguments: [:], attempt: attempt,
                            run: FlowRunContext(flowName: "f", parameters: [:]))
        let outcome: TaskOutcome = kind == .failed ? .failed(message: "boom", traceback: nil)
            : kind == .timedOut ? .timedOut(message: "late") : kind == .cancelled ? .interrupted : kind == .skipped ? .skipped(message: "s") : .success(1)
        if case .retry = TaskRules.next(after: outcome, &call) {
            #expect(retries)
            #expect(call.attempt == attempt + 1)
        } else {
            #expect(!retries)
            #expect(call.attempt == attempt)
        }
    }

    @Test(arguments: [
        ("boom", 2, 0.0, 1, "boom; retry 1 of 2 in 0 µs"),
        ("Task timed out after 1.0 s", 3, 0.25, 2, "Task timed out after 1.0 s; retry 2 of 3 in 250.0 ms"),
        ("Failed", 1, 90.0, 1, "Failed; retry 1 of 1 in 90.0 s"),
    ])
    func retryingSaysWhyAndWhen(why: String, maxRetries: Int, delay: Double, attempt: Int, message: String) {
        var call = TaskCall(id: TaskRunID(task: "t"), task: task(maxRetries: maxRetries, retryDelay: delay), arguments: [:],
                            attempt: attempt, run: FlowRunContext(flowName: "f", parameters: [:]))
        #expect(TaskRules.next(after: .failed(message: why, traceback: nil), &call) == .retry(TaskState(.retrying, message: message), delay: delay))
    }

    @Test func aLoopRunsAgainAtOnceWithItsResult() {
        var call = TaskCall(id: TaskRunID(task: "t"), task: task(maxRetries: 2), arguments: [:],
                            run: FlowRunContext(flowName: "f", parameters: [:]))
        #expect(TaskRules.next(after: .looped(result: [1, 2], message: "again"), &call)
                == .loop(TaskState(.looped, message: "again", result: [1, 2])))
        #expect(call.loopCount == 2 && call.loopResult == [1, 2] && call.attempt == 1)
        #expect(TaskRules.next(after: .success(3), &call) == .done(TaskState(.success, result: 3)))
    }

    @Test(arguments: [
        ([], TaskState(.mapped, message: "Mapped over no items", result: [])),
        ([TaskState(.success, result: 1), TaskState(.success, result: 2)],
         TaskState(.mapped, message: "Mapped 2 items", result: [1, 2],
                   children: [TaskState(.success, result: 1), TaskState(.success, result: 2)])),
        ([TaskState(.success, result: 1), TaskState(.failed, message: "boom"), TaskState(.skipped, message: "no")],
         TaskState(.mapped, message: "Mapped 3 items; 1 failed", result: [1, nil, nil],
                   children: [TaskState(.success, result: 1), TaskState(.failed, message: "boom"), TaskState(.skipped, message: "no")])),
        ([TaskState(.timedOut), TaskState(.triggerFailed), TaskState(.cancelled)],
         TaskState(.mapped, message: "Mapped 3 items; 2 failed", result: [nil, nil, nil],
                   children: [TaskState(.timedOut), TaskState(.triggerFailed), TaskState(.cancelled)])),
    ] as [([TaskState], TaskState)])
    func aMappedTaskSumsUpItsChildren(children: [TaskState], state: TaskState) {
        #expect(TaskRules.mappedState(children) == state)
    }

    @Test(arguments: [
        (nil, [StateKind.success, .success, .success, .success, .success, .success, .success],
         TaskState(.success, message: "All reference tasks succeeded.")),
        (nil, [.mapped, .skipped, .success, .success, .success, .success, .success],
         TaskState(.success, message: "All reference tasks succeeded.")),
        (nil, [.success, .failed, .success, .cancelled, .success, .success, .success],
         TaskState(.failed, message: "Some reference tasks failed: t2")),
        (nil, [.failed, .triggerFailed, .timedOut, .failed, .failed, .failed, .failed],
         TaskState(.failed, message: "Some reference tasks failed: t1, t2, t3, t4, t5, ...")),
        (["t3", "t7"], [.failed, .failed, .success, .failed, .failed, .failed, .skipped],
         TaskState(.success, message: "All reference tasks succeeded.")),
        (["t7", "t1"], [.failed, .success, .success, .success, .success, .success, .timedOut],
         TaskState(.failed, message: "Some reference tasks failed: t7, t1")),
        (["t1"], [.cancelled, .success, .success, .success, .success, .success, .success],
         TaskState(.cancelled, message: "Some reference tasks were cancelled: t1")),
        (nil, [.success, .paused, .pending, .success, .success, .success, .success],
         TaskState(.paused, message: "Paused: t2 waits for approval")),
    ] as [([String]?, [StateKind], TaskState)])
    func theReferenceTasksDecideTheFlowsState(referenceTasks: [String]?, kinds: [StateKind], state: TaskState) throws {
        let graph = try FlowGraph(testFlow((1 ... 7).map { testTask("t\($0)") }, referenceTasks: referenceTasks))
        #expect(TaskRules.flowState(graph) { TaskState(kinds[$0]) } == state)
    }

    /// A mapped reference task counts as its children: one failed child fails the flow, no
    /// children at all leave nothing to fail.
    @Test(arguments: [
        ([TaskState(.success), TaskState(.failed)], StateKind.failed),
        ([TaskState(.success), TaskState(.skipped)], .success),
        ([], .success),
        ([TaskState(.paused)], .paused),
    ])
    func aMappedReferenceTaskCountsAsItsChildren(children: [TaskState], flow: StateKind) throws {
        let graph = try FlowGraph(testFlow([testTask("m")]))
        #expect(TaskRules.flowState(graph) { _ in TaskState(.mapped, children: children) }.kind == flow)
    }
}

@Suite struct TaskInputsTests {
    /// t(xs, first, k, ks) mapped over a's result and the constant ks, after a and pair (nout 2).
    private func inputs(a: Value, ks: Value = [7, 8, 9]) throws -> TaskInputs {
        let graph = try FlowGraph(testFlow(
            testTask("a"), testTask("pair"),
            testTask("t", ["xs": .mapped(over: "a"), "first": .element(1, of: "pair"), "k": .constant("k"), "ks": .mappedConstant(ks)])))
        let results: [Value] = [a, ["left", "right"]]
        return TaskInputs(graph: graph, task: 2) { TaskState(.success, result: results[$0]) }
    }

    @Test func eachChildGetsItsElementOfEveryMappedArgument() throws {
        let t = try inputs(a: [10, 20, 30])
        #expect(t.start() == .maps(width: 3))
        #expect(t.arguments(mapIndex: 1) == ["xs": 20, "first": "left", "k": "k", "ks": 8])
        #expect(t.arguments(mapIndex: 2) == ["xs": 30, "first": "left", "k": "k", "ks": 9])
    }

    /// As Prefect 1: the shortest mapped argument decides how many children there are.
    @Test func theShortestMappedArgumentDecides() throws {
        #expect(try inputs(a: [10, 20, 30], ks: [7, 8]).start() == .maps(width: 2))
    }

    @Test(arguments: [
        ("abc", [7, 8, 9], "argument 'xs' is a string, not an array"),
        (5, [7, 8, 9], "argument 'xs' is an integer, not an array"),
        ([10, 20, 30], ["k": 1], "argument 'ks' is a map, not an array"),
    ] as [(Value, Value, String)])
    func mappedArgumentsMustBeArrays(a: Value, ks: Value, why: String) throws {
        #expect(try inputs(a: a, ks: ks).start()
                == .ends(TaskState(.failed, message: "At least one upstream state has an unmappable result: " + why)))
    }

    @Test func anEmptyMapIsAnEmptyArray() throws {
        #expect(try inputs(a: [:], ks: []).start() == .ends(TaskRules.mappedState([])))
    }

    /// m mapped over a failed task: nothing to map over, so Failed (not TriggerFailed), as Prefect 1.
    @Test func nothingToMapOverFails() throws {
        let graph = try FlowGraph(testFlow(testTask("a"), testTask("m", ["x": .mapped(over: "a")])))
        let m = TaskInputs(graph: graph, task: 1) { _ in TaskState(.failed) }
        #expect(m.start() == .ends(TaskState(.failed, message: "No upstream states can be mapped over.")))
    }

    /// A reduce after a mapped task sees its children: a failed child fails its trigger.
    @Test(arguments: [
        ([TaskState(.success), TaskState(.failed)], StateKind.triggerFailed as StateKind?),
        ([TaskState(.success), TaskState(.skipped)], .skipped),
        ([], nil),
    ])
    func aReduceSeesTheChildren(children: [TaskState], ends: StateKind?) throws {
        let graph = try FlowGraph(testFlow(testTask("m"), testTask("r", ["xs": .result(of: "m")])))
        let r = TaskInputs(graph: graph, task: 1) { _ in TaskState(.mapped, children: children) }
        #expect(r.start() == (ends.map { _ in r.start() } ?? .runs))
        if let ends, case .ends(let state) = r.start() { #expect(state.kind == ends) } else { #expect(ends == nil) }
    }

    /// As Prefect 1: a task mapped over a mapped task whose child is paused still maps; only
    /// its child behind the paused one waits. A reduce after it waits whole.
    @Test func aPausedChildHoldsOnlyWhatIsBehindIt() throws {
        let graph = try FlowGraph(testFlow(testTask("m"), testTask("n", ["x": .mapped(over: "m")]), testTask("r", ["xs": .result(of: "m")])))
        let m = TaskState(.mapped, result: [1, nil, 3], children: [TaskState(.success, result: 1), TaskState(.paused), TaskState(.success, result: 3)])
        let waiting = TaskState(.pending, message: "Waiting for a paused upstream task")
        let n = TaskInputs(graph: graph, task: 1) { _ in m }
        #expect(n.start() == .maps(width: 3))
        #expect([0, 1, 2].map(n.preflight(child:)) == [nil, waiting, nil])
        #expect(TaskInputs(graph: graph, task: 2) { _ in m }.start() == .ends(waiting))
    }

    /// n(ys, b) mapped over m, whose children ended differently, after the unmapped b.
    @Test(arguments: [
        (0, StateKind.success, nil as TaskState?),
        (1, .success, TaskState(.triggerFailed, message: "Trigger was \"all_successful\" but some of the upstream tasks failed")),
        (2, .success, TaskState(.skipped, message: "Upstream task was skipped")),
        (0, .failed, TaskState(.triggerFailed, message: "Trigger was \"all_successful\" but some of the upstream tasks failed")),
    ])
    func eachChildSeesTheMatchingUpstreamChild(child: Int, b: StateKind, ends: TaskState?) throws {
        let graph = try FlowGraph(testFlow(testTask("m"), testTask("b"), testTask("n", ["ys": .mapped(over: "m"), "other": .result(of: "b")])))
        let m = TaskState(.mapped, children: [TaskState(.success), TaskState(.failed), TaskState(.skipped)])
        let n = TaskInputs(graph: graph, task: 2) { $0 == 0 ? m : TaskState(b) }
        #expect(n.preflight(child: child) == ends)
    }
}

@Suite struct TaskRunNameTests {
    private func call(_ template: String) -> TaskCall {
        var task = makeTask("fetch")
        task.taskRunName = template
        return TaskCall(id: TaskRunID(task: "fetch", mapIndex: 2), task: task, arguments: ["x": 7, "city": "Oslo"],
                        run: FlowRunContext(flowName: "f", parameters: ["day": "mon", "x": 99]))
    }

    /// As Prefect 1: arguments first, then context fields, then parameters; `{{` is a brace.
    @Test(arguments: [
        ("{city}-{x}", "Oslo-7"),
        ("{task_full_name} on {day}", "fetch[2] on mon"),
        ("{{literal}} {x}", "{literal} 7"),
        ("plain", "plain"),
    ])
    func templatesAreFilledIn(template: String, name: String) throws {
        let c = call(template)
        #expect(try c.runName(context: c.contextFields()) == name)
    }

    @Test(arguments: [
        ("{nope}", "task_run_name \"{nope}\": no argument, context field or parameter 'nope'"),
        ("{x", "task_run_name \"{x\": a single '{' (write '{{' for the brace itself)"),
        ("x}", "task_run_name \"x}\": a single '}' (write '}}' for the brace itself)"),
    ])
    func badTemplatesAreErrors(template: String, message: String) {
        let c = call(template)
        let error = #expect(throws: TaskRunNameError.self) { try c.runName(context: c.contextFields()) }
        #expect(error?.description == message)
    }
}
