import DKCore
@testable import DKDask
import DKTestSupport
import Foundation
import Testing

/// The driver's `state` event: the task state as MessagePack bytes, as the workers send it.
func stateEvent(_ task: String, _ state: TaskState, mapIndex: Int? = nil) -> Value {
    ["event": "state", "task": .text(task), "map_index": mapIndex.map { .int(Int64($0)) } ?? .null,
     "state": .string(MessagePack.encode(state.value)), "attempts": 1]
}

@Suite struct RunEventsTests {
    /// produce -> square (mapped over produce's result) -> total; each task may retry twice.
    let graph: FlowGraph

    init() throws {
        graph = try makeGraph(["produce", "square", "total"], [("produce", "square", mapped: true), ("square", "total", mapped: false)],
                              maxRetries: 2, retryDelay: 5)
    }

    /// Each driver event and the one run event it becomes (without its time).
    static let translations: [(event: Value, recorded: Value)] = [
        (["event": "cluster", "address": "tcp://10.0.0.1:8786", "temporary": true, "dashboard": "http://10.0.0.1:8787/status"],
         ["event": "log", "level": "INFO",
          "message": "Dask scheduler tcp://10.0.0.1:8786 (a temporary cluster for this run), dashboard http://10.0.0.1:8787/status"]),
        (["event": "cluster", "address": "tcp://scheduler:8786", "temporary": false, "dashboard": .null],
         ["event": "log", "level": "INFO", "message": "Dask scheduler tcp://scheduler:8786"]),
        (["event": "fusion", "tasks": 1000, "dask_tasks": 24, "batched": 998],
         ["event": "log", "level": "DEBUG",
          "message": "Fusion: 1000 tasks run as 24 Dask tasks (998 cheap tasks batched; mapped tasks' children counted apart)"]),
        (["event": "fusion", "mapped": "square", "tasks": 30, "dask_tasks": 1, "batched": 30],
         ["event": "log", "level": "DEBUG", "message": "Fusion: the 30 children of square run as 1 Dask tasks (30 cheap children batched)"]),
        (["event": "running", "task": "produce", "map_index": .null, "attempt": 2, "worker": "tcp://10.0.0.2:4000"],
         ["event": "task_state", "task": "produce", "state": "Running", "attempt": 2, "worker": "tcp://10.0.0.2:4000"]),
        (["event": "running", "task": "square", "map_index": 3],
         ["event": "task_state", "task": "square", "map_index": 3, "state": "Running", "attempt": 1]),
        (["event": "retrying", "task": "produce", "map_index": .null, "attempt": 1, "message": "boom; retry 1 of 2 in 5.0 s",
          "worker": "tcp://10.0.0.2:4000"],
         ["event": "task_state", "task": "produce", "state": "Retrying", "message": "boom; retry 1 of 2 in 5.0 s", "attempt": 1,
          "worker": "tcp://10.0.0.2:4000"]),
        (["event": "looped", "task": "square", "map_index": 1, "attempt": 1, "message": "again"],
         ["event": "task_state", "task": "square", "map_index": 1, "state": "Looped", "message": "again", "attempt": 1]),
        (["event": "log", "task": "square", "map_index": 3, "level": "warning", "message": "careful"],
         ["event": "log", "task": "square", "map_index": 3, "level": "WARNING", "message": "careful"]),
        (["event": "log", "task": "produce", "level": "chatty", "message": "hello"],
         ["event": "log", "task": "produce", "level": "INFO", "message": "hello"]),
        (["event": "state", "task": "produce", "map_index": .null, "attempts": 2, "duration": 0.25, "worker": "tcp://10.0.0.2:4000",
          "state": .string(MessagePack.encode(TaskState(.success, result: [1, 2]).value))],
         ["event": "task_state", "task": "produce", "state": "Success", "result": [1, 2], "attempt": 2, "duration": 0.25,
          "worker": "tcp://10.0.0.2:4000"]),
        (stateEvent("total", TaskState(.failed, message: "boom", traceback: "flow.lua:3: boom")),
         ["event": "task_state", "task": "total", "state": "Failed", "message": "boom", "attempt": 1]),
    ]

    @Test(arguments: translations)
    func driverEventsBecomeRunEvents(event: Value, recorded: Value) throws {
        let observer = EventRecorder()
        var run = RunEvents(graph: graph, observer: observer)
        try run.handle(event)
        #expect(observer.values == [recorded])
    }

    /// Driver events that cannot be turned into run events, and the error each is.
    static let nonsense: [(event: Value, message: String)] = [
        (["event": "retrying", "task": "nowhere", "attempt": 1, "message": "boom"],
         "the Dask driver named an unknown task 'nowhere'"),
        (["event": "state", "task": "produce", "state": ["kind": "Success"]],
         "the Dask driver sent a state without bytes"),
        (["event": "state", "task": "produce", "state": .string(MessagePack.encode(["kind": "Sideways"]))],
         #"not a task state: {"kind":"Sideways"}"#),
        (["event": "teleported", "task": "produce"],
         #"the Dask driver sent an unknown event: {"event":"teleported","task":"produce"}"#),
        (["task": "produce"],
         #"the Dask driver sent an unknown event: {"task":"produce"}"#),
    ]

    @Test(arguments: nonsense)
    func eventsThatMakeNoSenseAreErrors(event: Value, message: String) {
        let observer = EventRecorder()
        var run = RunEvents(graph: graph, observer: observer)
        let error = #expect(throws: (any Error).self) { try run.handle(event) }
        #expect(error.map { "\($0)" } == message)
        #expect(observer.values.isEmpty)
    }

    @Test func tasksWithoutAStateAreCancelledAtTheEnd() throws {
        let observer = EventRecorder()
        var run = RunEvents(graph: graph, observer: observer)
        try run.handle(stateEvent("produce", TaskState(.success, result: [1, 2])))
        let result = run.finish(cancelled: false, wall: 1.5)
        let cancelled = "The flow run was interrupted before this task finished"
        #expect(observer.values == [
            ["event": "task_state", "task": "produce", "state": "Success", "result": [1, 2], "attempt": 1],
            ["event": "task_state", "task": "square", "state": "Cancelled", "message": .text(cancelled), "attempt": 0],
            ["event": "task_state", "task": "total", "state": "Cancelled", "message": .text(cancelled), "attempt": 0],
            ["event": "flow_finished", "flow": "numbers", "state": "Cancelled", "message": "Some reference tasks were cancelled: total",
             "counts": ["Success": 1, "Cancelled": 2], "wall": 1.5],
        ])
        #expect(result.state == TaskState(.cancelled, message: "Some reference tasks were cancelled: total"))
        #expect(result.taskStates == ["produce": TaskState(.success, result: [1, 2]), "square": TaskState(.cancelled, message: cancelled),
                                      "total": TaskState(.cancelled, message: cancelled)])
        #expect(result.wall == 1.5)
    }

    /// A mapped task's children are reported and counted as they finish; the parent's own
    /// state is Mapped, and the flow's state looks at the children, as Prefect 1's does.
    @Test func mappedChildrenAreReportedAndCounted() throws {
        let observer = EventRecorder()
        var run = RunEvents(graph: graph, observer: observer)
        let children = [TaskState(.success, result: 1), TaskState(.failed, message: "boom")]
        try run.handle(stateEvent("produce", TaskState(.success, result: [1, 2])))
        for (i, child) in children.enumerated() { try run.handle(stateEvent("square", child, mapIndex: i)) }
        try run.handle(stateEvent("square", TaskRules.mappedState(children)))
        try run.handle(stateEvent("total", TaskState(.success, result: 1)))
        let result = run.finish(cancelled: false, wall: 0)
        #expect(observer.values.map { $0["map_index"] } == [nil, 0, 1, nil, nil, nil])
        #expect(observer.values.last?["counts"] == ["Success": 3, "Failed": 1, "Mapped": 1])
        #expect(result.taskStates["square"]?.kind == .mapped)
        #expect(result.state == TaskState(.success, message: "All reference tasks succeeded."))  // total is the reference task
    }

    /// a -> b, a -> c: without reference tasks, b and c (the terminal tasks) decide.
    @Test(arguments: [
        (nil as [String]?, ["a": StateKind.success, "b": .success, "c": .skipped], false,
         TaskState(.success, message: "All reference tasks succeeded.")),
        (nil, ["a": .success, "b": .failed, "c": .triggerFailed], false, TaskState(.failed, message: "Some reference tasks failed: b, c")),
        (["a"], ["a": .success, "b": .failed, "c": .failed], false, TaskState(.success, message: "All reference tasks succeeded.")),
        (["a", "b"], ["a": .success, "b": .timedOut, "c": .success], false, TaskState(.failed, message: "Some reference tasks failed: b")),
        (nil, ["a": .success, "b": .success, "c": .success], true, TaskState(.cancelled, message: "The flow run was interrupted")),
    ])
    func theReferenceTasksDecideTheFlowState(referenceTasks: [String]?, states: [String: StateKind], cancelled: Bool,
                                             flowState: TaskState) throws {
        let graph = try makeGraph(["a", "b", "c"], [("a", "b", mapped: false), ("a", "c", mapped: false)], referenceTasks: referenceTasks)
        var run = RunEvents(graph: graph, observer: nil)
        for slug in ["a", "b", "c"] { try run.handle(stateEvent(slug, TaskState(states[slug]!))) }
        #expect(run.finish(cancelled: cancelled, wall: 0).state == flowState)
    }
}
