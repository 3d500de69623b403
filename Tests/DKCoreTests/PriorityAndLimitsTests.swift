@testable import DKCore
import DKTestSupport
import Testing

/// Task priorities and tag limits on the executors here (docs/lua-api.md).
@Suite struct PriorityAndLimitsTests {
    /// Ready tasks start highest priority first, in the order they were made among equals:
    /// one thread runs them one at a time, so the calls' order is the start order.
    @Test(arguments: [ExecutorKind.local, .threads(1)])
    func readyTasksStartHighestPriorityFirst(kind: ExecutorKind) throws {
        let priorities = ["a": 0, "b": 5, "c": 1, "d": 5, "e": -2]
        let flow = testFlow(priorities.keys.sorted().map { slug in testTask(slug) { $0.priority = priorities[slug]! } }
                            + [testTask("f", ["x": .result(of: "a")]) { $0.priority = 9 }])

        let run = try runFlow(flow, on: kind)

        // f becomes ready when a ends, and then goes before c and e, queued earlier.
        #expect(run.calls.map(\.run) == ["b", "d", "c", "a", "f", "e"])
    }

    /// Tracks how many runs are inside at once, and the most there ever were.
    final class Overlap: @unchecked Sendable {
        private let monitor = Monitor()
        private var inside = 0
        private(set) var peak = 0

        func enter() { monitor.locked { inside += 1; peak = max(peak, inside); monitor.broadcast() } }
        func leave() { monitor.locked { inside -= 1 } }

        /// Waits (ten seconds at most) until `n` runs have been inside at once.
        func waitForPeak(_ n: Int) {
            let deadline = Clock.monotonic() + 10
            monitor.locked { while peak < n && Clock.monotonic() < deadline { monitor.wait(until: deadline) } }
        }
    }

    /// Six tasks tagged "db" with a limit of 2 on four threads: each waits inside until two
    /// have been inside at once, so the run reaches the limit and shows it is never passed;
    /// the untagged ones are not held back.
    @Test func aTagLimitHoldsBackTasksBeyondIt() throws {
        let db = Overlap()
        let script = InvokerScript(whileRunning: { call in
            guard call.task.tags.contains("db") else { return }
            db.enter()
            db.waitForPeak(2)
            db.leave()
        })
        var flow = testFlow((0 ..< 6).map { i in testTask("db\(i)") { $0.tags = ["db", "other"] } } + [testTask("free")])
        flow.limits = ["db": 2, "other": 5]

        let run = try runFlow(flow, script: script, on: .threads(4))

        #expect(run.result.state == allReferenceTasksSucceeded)
        #expect(db.peak == 2)
        #expect(run.calls.count == 7)
    }

    /// A task holds its slot through its retries: with a limit of 1, the second task starts
    /// after the first one's last attempt.
    @Test func aTaskHoldsItsSlotThroughItsRetries() throws {
        let script = InvokerScript(outcomes: ["a": [.failed(message: "once", traceback: nil), .success("a")]])
        var flow = testFlow(testTask("a") { $0.tags = ["db"]; $0.maxRetries = 1 }, testTask("b") { $0.tags = ["db"] })
        flow.limits = ["db": 1]

        let run = try runFlow(flow, script: script, on: .threads(2))

        #expect(run.calls.map(\.run) == ["a", "a", "b"])
    }

    /// Resources mean nothing here, and a limit no task's tag names limits nothing: each is
    /// said once, as a warning, when the run starts.
    @Test func ignoredResourcesAndUnusedLimitsAreWarnedOf() throws {
        var flow = testFlow(testTask("train") { $0.resources = ["GPU": 1, "MEMORY": 16e9] }, testTask("plain"))
        flow.limits = ["databse": 2]

        let run = try runFlow(flow, on: .local)

        let warnings = run.events.compactMap { e -> String? in
            guard case let .log(id, .warning, message, _) = e, id == nil else { return nil }
            return message
        }
        #expect(warnings == [
            "limit databse=2 limits nothing: no task of flow 'f' has the tag 'databse'",
            "task 'train' asks for resources GPU=1, MEMORY=16000000000, which only Dask workers offer: the local executor runs it without them",
        ])
    }

    /// Priority, resources and fusion say where and when a task runs, not what it computes:
    /// they leave a run's identity (its cache and checkpoint key) as it was; other options do not.
    @Test func priorityResourcesAndFusionLeaveARunsIdentity() {
        var task = makeTask("t")
        let plain = TaskIdentity(task: task, code: [1], inputs: [:]).hash
        task.priority = 3
        task.resources = ["GPU": 1]
        task.fuses = false
        #expect(TaskIdentity(task: task, code: [1], inputs: [:]).hash == plain)
        task.maxRetries = 2
        #expect(TaskIdentity(task: task, code: [1], inputs: [:]).hash != plain)
    }

    /// Resources come from the option and Prefect 1's tags, merged; the description keeps
    /// them and the priority, and reads them back.
    @Test func resourcesAndPriorityRoundTripThroughTheDescription() throws {
        var task = makeTask("t")
        task.tags = ["dask-resource:GPU=1", "Dask-Resource:slots=0.5", "etl"]
        task.resources = try TaskResources.read(option: ["MEMORY": .float(16e9)], tags: task.tags, task: "task 't'")
        task.priority = -3
        var flow = makeFlow([task], [])
        flow.limits = ["etl": 3]

        let read = try FlowSpec(description: flow.descriptionValue)

        #expect(read.tasks[0].resources == ["GPU": 1, "slots": 0.5, "MEMORY": 16e9])
        #expect(read.tasks[0].priority == -3)
        #expect(read.limits == ["etl": 3])
        #expect(read == flow)
    }
}
