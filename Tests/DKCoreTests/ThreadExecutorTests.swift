@testable import DKCore
#if canImport(Glibc)
import Glibc
#endif
import Testing

@Suite struct ThreadExecutorTests {
    /// Each of n independent tasks waits in its invoker until all n have started, which only
    /// n invokers running at once can do: the caller's and one per other thread.
    @Test(arguments: 2 ... 4)
    func independentTasksRunOnEveryThread(threads: Int) throws {
        let started = Latch(threads)
        let script = InvokerScript(whileRunning: { _ in
            started.countDown()
            started.wait()
        })
        let log = InvokerLog()
        let flow = testFlow((0 ..< threads).map { testTask("t\($0)") })

        let run = try runFlow(flow, executor: ExecutorKind.threads(threads).make(script, log), log: log)

        #expect(run.result.state == allReferenceTasksSucceeded)
        #expect(run.calls.count == threads)
        #expect(Set(run.calls.map(\.invoker)) == Set(["caller"] + (1 ..< threads).map { "thread-\($0)" }))
        // Shutdown joined the threads, so the invokers they made are gone.
        #expect(log.threadInvokersReleased == log.threadInvokersMade)
    }

    @Test func aThreadThatCannotLoadTheFlowFailsTheJobsItTakes() throws {
        struct LoadFailure: Error, CustomStringConvertible {
            let described: Latch
            var description: String {
                described.countDown()
                return "no flow here"
            }
        }
        // The caller holds its job (a) until the other thread has taken b: that thread
        // describes its error as it fails each job it takes.
        let described = Latch(1)
        let log = InvokerLog()
        let caller = ScriptedInvoker(name: "caller", script: InvokerScript(whileRunning: { _ in described.wait() }), log: log)
        let executor = ThreadExecutor(threads: 2, callerInvoker: caller) { _ in throw LoadFailure(described: described) }

        let run = try runFlow(testFlow(testTask("a"), testTask("b")), executor: executor, log: log)

        #expect(run.result.taskStates["a"] == succeeded("a"))
        #expect(run.result.taskStates["b"] == TaskState(.failed, message: "this thread could not load the flow: no flow here"))
        #expect(run.calls.map(\.run) == ["a"])
        // The failed job never ran, so it never reported Running.
        #expect(run.steps(of: "b") == [Step(kind: .failed, attempt: 1)])
    }

    /// The other threads are still making their invokers (loading the flow) when the run
    /// ends: shutdown cancels that and waits for the threads to end.
    @Test func shutdownCancelsThreadsStillLoadingAndJoinsThem() throws {
        struct NeverCancelled: Error {}
        let log = InvokerLog()
        let script = InvokerScript()
        let executor = ThreadExecutor(threads: 3, callerInvoker: ScriptedInvoker(name: "caller", script: script, log: log)) { flag in
            let deadline = Clock.monotonic() + 10
            while flag.pointer.pointee == 0 && Clock.monotonic() < deadline { sched_yield() }
            guard flag.pointer.pointee != 0 else { throw NeverCancelled() }
            return ScriptedInvoker(name: log.nameThreadInvoker(), script: script, log: log)
        }

        let run = try runFlow(testFlow(testTask("a"), testTask("b"), testTask("c")), executor: executor, log: log)

        #expect(run.result.state == allReferenceTasksSucceeded)
        #expect(run.calls.map(\.invoker) == ["caller", "caller", "caller"])
        // Both threads saw the cancellation and ended before shutdown returned.
        #expect(log.threadInvokersMade == ["thread-1", "thread-2"])
        #expect(log.threadInvokersReleased == ["thread-1", "thread-2"])
    }

    @Test(arguments: [0, 1])
    func oneThreadIsTheCallerAlone(threads: Int) throws {
        let log = InvokerLog()
        let executor = ThreadExecutor(threads: threads, callerInvoker: ScriptedInvoker(name: "caller", script: InvokerScript(), log: log)) { _ in
            ScriptedInvoker(name: log.nameThreadInvoker(), script: InvokerScript(), log: log)
        }
        #expect(executor.name == "threads(1)")

        let run = try runFlow(FlowRunnerTests.Shape.fanOut.spec, executor: executor, log: log)

        #expect(run.result.state == allReferenceTasksSucceeded)
        #expect(run.calls.map(\.invoker) == ["caller", "caller", "caller"])
        #expect(log.threadInvokersMade == [])
    }
}

@Suite struct LocalExecutorTests {
    /// A job that runs task `slug` with the invoker it is given.
    private func job(_ slug: String) -> TaskJob {
        { invoker in
            invoker.invoke(TaskCall(id: TaskRunID(task: slug), task: makeTask(slug), arguments: [:],
                                    run: FlowRunContext(flowName: "f", parameters: [:]))) { _, _ in }
        }
    }

    @Test func runsOneJobPerWaitInSubmissionOrder() {
        let log = InvokerLog()
        let executor = LocalExecutor(invoker: ScriptedInvoker(name: "local", script: InvokerScript(), log: log))
        for (n, (id, slug)) in [(7, "x"), (3, "y"), (5, "z")].enumerated() { executor.submit(id: id, priority: 0, place: QueuePlace(sequence: n), job(slug)) }
        #expect(log.calls.isEmpty)

        let results = (0 ..< 4).map { _ in executor.next(until: nil) }

        #expect(results.map { $0.map(\.id) } == [[7], [3], [5], []])
        #expect(results.joined().map(\.outcome) == [.success("x"), .success("y"), .success("z")])
        #expect(log.calls.map(\.invoker) == ["local", "local", "local"])
    }

    /// A child that follows an upstream child (depth-first) runs before the jobs submitted
    /// after that child, at its priority.
    @Test func aFollowingJobRunsBeforeLaterOnes() {
        let log = InvokerLog()
        let executor = LocalExecutor(invoker: ScriptedInvoker(name: "local", script: InvokerScript(), log: log))
        executor.submit(id: 0, priority: 0, place: QueuePlace(sequence: 0), job("a0"))
        executor.submit(id: 1, priority: 0, place: QueuePlace(sequence: 1), job("a1"))
        executor.submit(id: 2, priority: 0, place: QueuePlace(sequence: 0, depth: 1), job("b0"))
        executor.submit(id: 3, priority: 1, place: QueuePlace(sequence: 2), job("urgent"))

        let order = (0 ..< 4).flatMap { _ in executor.next(until: nil).map(\.id) }

        #expect(order == [3, 0, 2, 1])
    }

    @Test func shutdownDropsQueuedJobs() {
        let log = InvokerLog()
        let executor = LocalExecutor(invoker: ScriptedInvoker(name: "local", script: InvokerScript(), log: log))
        executor.submit(id: 0, priority: 0, place: QueuePlace(sequence: 0), job("x"))
        executor.submit(id: 1, priority: 0, place: QueuePlace(sequence: 1), job("y"))

        executor.shutdown()

        #expect(executor.next(until: nil).isEmpty)
        #expect(log.calls.isEmpty)
    }
}
