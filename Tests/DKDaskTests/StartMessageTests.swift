import DKCore
@testable import DKDask
import Testing

/// Scaling that only has a report interval: the start message is all these tests look at.
final class ReportingScaling: WorkerScaling {
    let reportInterval = 2.5
    func observe(_ demand: WorkerDemand, workers: [String]) throws -> [RetireRequest] { [] }
    func retired(_ workers: [String], group: String) throws {}
    func check() throws {}
    func checkCause() throws {}
    func whyLost(_ failure: String) -> String? { nil }
}

/// The first message DaskRunner sends the driver: the payload, the task graph and the executor.
@Suite struct StartMessageTests {
    let payload = Array("payload".utf8)
    let context = FlowRunContext(id: "run-1", flowName: "f", scheduledStart: 0, parameters: ["n": 2])
    /// produce -> square (mapped) -> total, square and total joined by two edges (one upstream).
    let graph: FlowGraph

    init() throws {
        graph = try makeGraph(["produce", "square", "total"], [("produce", "square", mapped: true), ("square", "total", mapped: false),
                                                               ("square", "total", mapped: false)])
    }

    /// What every start message holds whatever the executor.
    func expectedMessage(settings: Value) -> [Value: Value] {
        ["run_id": "run-1", "context": ["id": "run-1", "flow": "f", "start": 0.0, "parameters": ["n": 2]],
         "payload": .string(payload),
         "hash": "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5",  // SHA-256 of "payload"
         "payload_version": .int(Payload.version), "executor": settings, "limits": [:],
         "tasks": [task("produce", upstream: [], mapped: false), task("square", upstream: ["produce"], mapped: true),
                   task("total", upstream: ["square"], mapped: false)]]
    }

    /// A task's entry; `childByChild`: the mapped tasks it maps over child by child (depth-first).
    func task(_ slug: String, upstream: [Value], mapped: Bool, priority: Int64 = 0, resources: Value = [:], limited: [Value] = [],
              childByChild: [Value] = []) -> Value {
        ["slug": .text(slug), "source": "flow.lua:1", "upstream": .array(upstream), "mapped": .bool(mapped),
         "priority": .int(priority), "resources": resources, "limited": .array(limited), "child_by_child": .array(childByChild)]
    }

    /// Each task's priority, resources and limited tags (those the run has a limit for), and the limits.
    @Test func tasksCarryTheirPriorityResourcesAndLimitedTags() throws {
        var spec = graph.spec
        spec.tasks[2].priority = 7
        spec.tasks[2].resources = ["GPU": 1]
        spec.tasks[2].tags = ["db", "etl", "db"]
        spec.limits = ["db": 2]
        let settings: Value = ["type": "DaskExecutor", "address": "tcp://scheduler:8786"]
        let message = DaskRunner().startMessage(graph: try FlowGraph(spec), payload: payload, context: context, settings: settings)
        #expect(message["tasks"]?.arrayValue?[2] == task("total", upstream: ["square"], mapped: false, priority: 7, resources: ["GPU": 1.0], limited: ["db"]))
        #expect(message["limits"] == ["db": 2])
    }

    /// Durations an earlier run measured (by slug) give each task of a definition measured there
    /// the median of its tasks' as its cost (a mapped task's children count as its tasks),
    /// unless the task opts out of fusion.
    @Test func measuredTasksCarryTheTypicalDurationOfTheirDefinition() throws {
        var spec = try makeGraph(["step", "step-2", "step-3", "other", "late"], []).spec
        for i in 0 ..< 3 { spec.tasks[i].name = "step" }
        spec.tasks[3].name = "other"
        spec.tasks[3].fuses = false
        let settings: Value = ["type": "DaskExecutor", "address": "tcp://scheduler:8786"]
        let message = DaskRunner().startMessage(graph: try FlowGraph(spec), payload: payload, context: context, settings: settings,
                                                measured: ["step": [0.001], "step-2": [0.003], "other": [0.002], "gone": [1],
                                                           "late": [0.009, 0.001, 0.004]])
        let tasks = try #require(message["tasks"]?.arrayValue)
        #expect(tasks.prefix(3).allSatisfy { $0["cost"] == .float(0.002) && $0["definition"] == "step" }, "\(tasks)")
        #expect(tasks[3]["cost"] == nil && tasks[4]["cost"] == .float(0.004) && tasks[4]["definition"] == "late")
    }

    /// A function mapped over many cheap items and called unmapped on a slow one: each keeps
    /// its own typical duration, or the children would make the slow call look cheap.
    @Test func mappedAndUnmappedCallsOfOneFunctionAreMeasuredApart() throws {
        var spec = try makeGraph(["items", "f", "f-2"], [("items", "f", mapped: true)]).spec
        spec.tasks[1].name = "f"
        spec.tasks[2].name = "f"
        let settings: Value = ["type": "DaskExecutor", "address": "tcp://scheduler:8786"]
        let message = DaskRunner().startMessage(graph: try FlowGraph(spec), payload: payload, context: context, settings: settings,
                                                measured: ["f": Array(repeating: 0.001, count: 99), "f-2": [2.0]])
        let tasks = try #require(message["tasks"]?.arrayValue)
        #expect(tasks[1]["cost"] == .float(0.001) && tasks[2]["cost"] == .float(2.0), "\(tasks)")
    }

    @Test func aTemporaryClusterGetsThisDkrunForItsWorkers() {
        let settings: Value = ["type": "DaskExecutor", "n_workers": 2]
        var expected = expectedMessage(settings: settings)
        expected["dkrun"] = .text(Files.executablePath)
        #expect(DaskRunner().startMessage(graph: graph, payload: payload, context: context, settings: settings) == .map(expected))
    }

    @Test func anExistingClusterDoesNot() {
        let settings: Value = ["type": "DaskExecutor", "address": "tcp://scheduler:8786"]
        #expect(DaskRunner().startMessage(graph: graph, payload: payload, context: context, settings: settings)
            == .map(expectedMessage(settings: settings)))
    }

    @Test func scalingAsksForWorkerReports() {
        let settings: Value = ["type": "DaskExecutor", "address": "tcp://scheduler:8786"]
        var expected = expectedMessage(settings: settings)
        expected["scaling"] = ["interval": 2.5]
        #expect(DaskRunner(scaling: ReportingScaling()).startMessage(graph: graph, payload: payload, context: context, settings: settings)
            == .map(expected))
    }
}
