import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun worker --stdio`, the task server, spoken to as the Python bridge will.
@Suite struct WorkerTests {
    final class Worker {
        let process = CLI.start(["worker", "--stdio"])
        let stdin = Pipe()

        init() throws {
            process.standardInput = stdin
            try process.run()
        }

        func send(_ v: Value) throws {
            let body = MessagePack.encode(v)
            let n = UInt32(body.count)
            sendBytes([UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body)
        }

        /// Bytes as they are: a frame of the test's making, well-formed or not.
        func sendBytes(_ bytes: [UInt8]) { stdin.fileHandleForWriting.write(Data(bytes)) }

        func receive() throws -> Value {
            let out = (process.standardOutput as! Pipe).fileHandleForReading
            func exactly(_ n: Int) -> [UInt8] {
                var data = [UInt8]()
                while data.count < n {
                    let chunk = out.readData(ofLength: n - data.count)
                    if chunk.isEmpty { break }
                    data += chunk
                }
                return data
            }
            let header = exactly(4)
            guard header.count == 4 else { throw CLIError("worker closed its output") }
            return try MessagePack.decode(exactly(header.reduce(0) { $0 << 8 | Int($1) }))
        }

        /// Sends a request and collects the events before its reply.
        func request(_ v: Value) throws -> (reply: Value, events: [Value]) {
            try send(v)
            var events: [Value] = []
            while true {
                let m = try receive()
                if m["event"] != nil { events.append(m) } else { return (m, events) }
            }
        }

        func close() -> CLI.Result {
            stdin.fileHandleForWriting.closeFile()
            return CLI.finish(process)
        }
    }

    static let flow = """
        local flaky = task("flaky", { max_retries = 2 }, function(x)
          print("attempt " .. dk.context.attempt)
          io.write("written ", "output\\n")
          os.execute("echo stray output")
          if dk.context.attempt < 2 then error("transient") end
          return x * 2
        end)
        local spin = task("spin", { timeout = 0.2 }, function() while true do end end)
        local after = task("after", function(x) return x end)
        local inc = task("inc", function(x) return x + 1 end)
        return Flow("w", function()
          local doubled = flaky(Parameter("n", { default = 21 }))
          after(doubled)
          inc:map(doubled)
          spin()
        end)
        """

    /// A state as the protocol carries it: MessagePack bytes.
    static func state(_ s: TaskState) -> Value { .string(MessagePack.encode(s.value)) }

    static func decoded(_ reply: Value) throws -> TaskState {
        guard case .string(let bytes)? = reply["state"] else { throw CLIError("no state in \(reply)") }
        return try TaskState(value: MessagePack.decode(bytes))
    }

    @Test func loadsOnceAndRunsTasksWithTheLocalRules() throws {
        let dir = try TempDir(["w.lua": Self.flow])
        _ = try CLI.run(["serialize", dir.file("w.lua"), "-o", dir.file("w.dkp")])
        let payload = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("w.dkp"))))
        let worker = try Worker()
        #expect(try worker.request(["op": "hello"]).reply["payload_version"] == .int(Payload.version))
        let loaded = try worker.request(["op": "load", "payload": .string(payload)]).reply
        #expect(loaded["ok"] == true && loaded["cached"] == false)
        let hash = try #require(loaded["hash"])
        #expect(try worker.request(["op": "load", "payload": .string(payload)]).reply["cached"] == true)

        let n = try worker.request(["op": "run", "hash": hash, "task": "n"]).reply
        #expect(try Self.decoded(n) == TaskState(.success, result: 21))
        let (reply, events) = try worker.request(["op": "run", "hash": hash, "task": "flaky", "upstream": ["n": n["state"]!]])
        #expect(reply["kind"] == "Success" && reply["attempts"] == 2)
        #expect(try Self.decoded(reply).result == 42)
        // io.write is a log line like print.
        #expect(events.map { $0["message"]?.stringValue ?? "" }.filter { !$0.contains("retry") }
                == ["attempt 1", "written output", "attempt 2", "written output"])
        // The Retrying state's message: why, and when the next attempt is.
        #expect(events[2]["message"]?.stringValue?.contains("w.lua:5: transient; retry 1 of") == true)
        #expect(events.map { $0["event"]?.stringValue } == ["log", "log", "retrying", "log", "log"])

        let timeout = try worker.request(["op": "run", "hash": hash, "task": "spin"]).reply
        #expect(timeout["kind"] == "TimedOut")
        let failed = Self.state(TaskState(.failed, message: "no"))
        let trigger = try worker.request(["op": "run", "hash": hash, "task": "after", "upstream": ["flaky": failed]]).reply
        #expect(trigger["kind"] == "TriggerFailed")
        let missing = try worker.request(["op": "run", "hash": hash, "task": "after"]).reply
        #expect(missing["error"] == "the request for task 'after' lacks the state of its upstream task 'flaky'")
        let unknown = try worker.request(["op": "run", "hash": hash, "task": "nope"]).reply
        #expect(unknown["error"] == "flow 'w' has no task \"nope\"")
        let notLoaded = try worker.request(["op": "run", "hash": "abc", "task": "flaky"]).reply
        #expect(notLoaded["error"] == "the request names a payload that was not loaded (send op=load first)")
        let bad = try worker.request(["op": "load", "payload": .string([1, 2, 3])]).reply
        #expect(bad["ok"] == false)
        let r = worker.close()
        #expect(r.status == 0)
        #expect(r.stderr.contains("stray output"))  // a task's program's stdout cannot reach the frames
    }

    @Test func expandsRunsAndCollectsMappedChildren() throws {
        let dir = try TempDir(["w.lua": Self.flow])
        _ = try CLI.run(["serialize", dir.file("w.lua"), "-o", dir.file("w.dkp")])
        let payload = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("w.dkp"))))
        let worker = try Worker()
        let hash = try #require(try worker.request(["op": "load", "payload": .string(payload)]).reply["hash"])
        let list = Self.state(TaskState(.success, result: [1, 2, 3]))
        #expect(try worker.request(["op": "expand", "hash": hash, "task": "inc", "upstream": ["flaky": list]]).reply["width"] == 3)
        let notAList = Self.state(TaskState(.success, result: 7))
        let refused = try worker.request(["op": "expand", "hash": hash, "task": "inc", "upstream": ["flaky": notAList]]).reply
        #expect(try Self.decoded(refused).message
                == "At least one upstream state has an unmappable result: argument 'x' is an integer, not an array")
        let child = try worker.request(["op": "run", "hash": hash, "task": "inc", "map_index": 2, "upstream": ["flaky": list]]).reply
        #expect(try Self.decoded(child).result == 4)
        let collected = try worker.request(["op": "collect", "children": [child["state"]!, Self.state(TaskState(.failed))]]).reply
        #expect(try Self.decoded(collected) == TaskState(.mapped, message: "Mapped 2 items; 1 failed", result: [4, nil],
                                                         children: [TaskState(.success, result: 4), TaskState(.failed)]))
        #expect(worker.close().status == 0)
    }

    /// A frame whose body is no MessagePack value is a request like any bad one: answered.
    @Test func malformedRequestsAreAnsweredAndTheServerGoesOn() throws {
        let worker = try Worker()
        for (fixture, problem) in [("malformed-msgpack.bin", "malformed value at byte 0: unsupported type byte 0xc1"),
                                   ("truncated-value.bin", "malformed value at byte 1: array of 2 elements exceeds the input"),
                                   ("map-missing-value.bin", "malformed value at byte 3: unexpected end of input")] {
            worker.sendBytes(try [UInt8](Data(contentsOf: URL(fileURLWithPath: CLI.repoRoot + "/Tests/Fixtures/bad-inputs/frames/" + fixture))))
            let reply = try worker.receive()
            #expect(reply == ["ok": false, "error": .text("the request is no MessagePack value: " + problem)])
        }
        #expect(try worker.request(["op": "hello"]).reply["ok"] == true)
        #expect(worker.close().status == 0)
    }

    /// A header announcing more than the frame limit ends the server, saying so, before it
    /// reads (or makes room for) the body.
    @Test func aFrameAboveTheLimitEndsTheServerWithTheReason() throws {
        let worker = try Worker()
        worker.sendBytes(try [UInt8](Data(contentsOf: URL(fileURLWithPath: CLI.repoRoot + "/Tests/Fixtures/bad-inputs/frames/header-1gib.bin"))))
        #expect(throws: CLIError.self) { try worker.receive() }
        let r = worker.close()
        #expect(r.status == 1)
        #expect(r.stderr == "dkrun: error: worker: a frame announcing 1073741824 bytes: more than 256 MiB, the limit for a frame\n")
    }

    /// retry_delay = 5000 s is more microseconds than usleep takes: the wait must not convert
    /// it. The server waits; Ctrl-C ends the wait, and the next attempt does not start.
    @Test func aLongRetryDelayIsWaitedNotConverted() throws {
        let dir = try TempDir(["r.lua": """
            local flaky = task("flaky", { max_retries = 1, retry_delay = 5000 }, function() error("transient") end)
            return Flow("r", function() flaky() end)
            """])
        _ = try CLI.run(["serialize", dir.file("r.lua"), "-o", dir.file("r.dkp")])
        let payload = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("r.dkp"))))
        let worker = try Worker()
        let hash = try #require(try worker.request(["op": "load", "payload": .string(payload)]).reply["hash"])
        try worker.send(["op": "run", "hash": hash, "task": "flaky", "upstream": [:]])
        var event = try worker.receive()
        while event["event"] == "log" { event = try worker.receive() }
        #expect(event["event"] == "retrying")
        #expect(event["message"]?.stringValue?.hasSuffix("retry 1 of 1 in 5000.0 s") == true)
        worker.process.interrupt()
        let reply = try worker.receive()
        #expect(reply["ok"] == true && reply["attempts"] == 1)
        #expect(try Self.decoded(reply).kind == .cancelled)
        _ = worker.close()
    }
}
