@testable import DKCore
import Testing

/// `RunEvent.writeJSON`, which `--json-events` and the run history write straight from each
/// event, gives the text of the event's map (`value`) as JSON.write writes it, masked.
@Suite struct RunEventJSONTests {
    static let time = 1_795_000_000.123
    static let events: [RunEvent] = [
        .flowStarted(flow: "hello", tasks: 3, executor: "LocalExecutor", time: time),
        .taskState(TaskRunID(task: "greet"), TaskState(.running), attempt: 1, duration: nil, time: time),
        .taskState(TaskRunID(task: "greet", mapIndex: 4), TaskState(.success, result: ["a": [1, 2.5], "b": "tok-json-77"]),
                   attempt: 2, duration: 0.25, worker: "tcp://127.0.0.1:1", time: time),
        .taskState(TaskRunID(task: "shout"), TaskState(.failed, message: "boom \"tok-json-77\"\n"), attempt: 3,
                   duration: 1e-7, time: 0),
        .log(nil, .error, "no task", time: time),
        .log(TaskRunID(task: "t", mapIndex: 0), .info, "line with tok-json-77 and \u{1}", time: time),
        .flowFinished(flow: "hello", state: TaskState(.failed, message: "1 task failed"),
                      counts: [.success: 2, .failed: 1, .mapped: 1], wall: 3.5, time: time),
    ]

    @Test(arguments: events)
    func eachEventIsItsMapAsJSONWithSecretsMasked(event: RunEvent) {
        SecretMask.register(name: "json_token", value: "tok-json-77")
        var expected: [UInt8] = []
        JSON.write(SecretMask.apply(event.value), into: &expected)
        var written: [UInt8] = []
        event.writeJSON(into: &written, withResult: true)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(!String(decoding: written, as: UTF8.self).contains("tok-json-77"))

        var value = event.value
        value["result"] = nil
        expected = []
        JSON.write(SecretMask.apply(value), into: &expected)
        written = []
        event.writeJSON(into: &written, withResult: false)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func timesAreUTCWithMillisecondsPadded() {
        #expect(Clock.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Clock.iso8601(1_795_000_000.125) == "2026-11-18T11:06:40.125Z")
        #expect(Clock.iso8601(253_402_300_799.5) == "9999-12-31T23:59:59.500Z")
        #expect(Clock.iso8601(-62_135_596_800.0) == "0001-01-01T00:00:00.000Z")
    }
}
