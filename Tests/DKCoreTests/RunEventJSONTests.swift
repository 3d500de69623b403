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

    /// Strings and numbers that JSON escapes or writes in more than one way.
    static let awkward: [RunEvent] = [
        .flowStarted(flow: "q\"b\\s/\u{0}\u{1f}\u{7f}\t\r\n", tasks: 0, executor: "é😀\u{2028}", time: -1.5),
        .flowStarted(flow: "", tasks: Int.max, executor: "x", time: 253_402_300_799.999),
        .taskState(TaskRunID(task: "naïve \"t\"", mapIndex: Int.max), TaskState(.cached, result: .float(-0.0),
                   resultLocation: "runs/r/kept (record ab) in Local{dir = \"/tmp/\u{e9}\"}"),
                   attempt: -1, duration: 0.1, worker: "w\u{1b}[0m", time: 0.1),
        .taskState(TaskRunID(task: "t", mapIndex: 0), TaskState(.mapped, result: [1e21, 1e-7, 0.1, -0.0, 3, -9_223_372_036_854_775_808]),
                   attempt: 0, duration: 1e21, time: 1e9),
        .taskState(TaskRunID(task: "t"), TaskState(.success, result: .string([0x61, 0xff, 0xc3])), attempt: 1,
                   duration: -0.0, time: 1),
        .taskState(TaskRunID(task: "t"), TaskState(.timedOut, message: ""), attempt: 1, duration: .nan, time: 1),
        .taskState(TaskRunID(task: "t"), TaskState(.retrying, message: "\u{85}\u{feff}\u{10ffff}"), attempt: 1,
                   duration: .infinity, time: 1),
        .log(TaskRunID(task: "t", mapIndex: 12), .critical, "\\\"\u{8}\u{c}" + String(repeating: "é", count: 40), time: 1),
        .log(nil, .debug, "", time: 1),
        .flowFinished(flow: "f\n", state: TaskState(.success), counts: [:], wall: 1e-300, time: 1),
        .flowFinished(flow: "f", state: TaskState(.cancelled, message: "\u{1}"), counts: [.cancelled: Int.max], wall: -0.0,
                      time: 1),
    ]

    /// Without secrets to mask, fields are written straight from the event: the same bytes.
    @Test(arguments: events + awkward)
    func eachEventIsItsMapAsJSONWithoutSecrets(event: RunEvent) {
        for withResult in [true, false] {
            var value = event.value
            if !withResult { value["result"] = nil }
            var written: [UInt8] = []
            event.writeJSON(into: &written, withResult: withResult, patterns: [])
            #expect(written == Array(JSON.encode(value).utf8))
        }
    }

    /// A secret may be anywhere, keys and fixed texts included.
    @Test(arguments: events + awkward)
    func secretsAreMaskedInKeysAndValues(event: RunEvent) {
        let patterns = ["ask", "\"t\"", "é", "vent"].flatMap { SecretMask.forms(of: $0) }
        var written: [UInt8] = []
        event.writeJSON(into: &written, withResult: true, patterns: patterns)
        #expect(written == Array(JSON.encode(SecretMask.apply(event.value, patterns)).utf8))
        #expect(!String(decoding: written, as: UTF8.self).contains("vent"))
    }

    @Test func aTaskStateEventsExactBytes() {
        let event = RunEvent.taskState(TaskRunID(task: "t\"1\"", mapIndex: 2), TaskState(.failed, message: "a\u{1}\né"),
                                       attempt: 1, duration: 0.1, time: 0)
        var written: [UInt8] = []
        event.writeJSON(into: &written, withResult: true, patterns: [])
        #expect(String(decoding: written, as: UTF8.self) == #"{"attempt":1,"duration":0.1,"event":"task_state","map_index":2,"#
            + #""message":"a\u0001\né","state":"Failed","task":"t\"1\"","time":"1970-01-01T00:00:00.000Z"}"#)
    }

    @Test func timesAreUTCWithMillisecondsPadded() {
        #expect(Clock.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Clock.iso8601(1_795_000_000.125) == "2026-11-18T11:06:40.125Z")
        #expect(Clock.iso8601(253_402_300_799.5) == "9999-12-31T23:59:59.500Z")
        #expect(Clock.iso8601(-62_135_596_800.0) == "0001-01-01T00:00:00.000Z")
    }
}
