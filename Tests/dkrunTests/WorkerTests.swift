import DKCore
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
            stdin.fileHandleForWriting.write(Data([UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body))
        }

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
            guard header.count == 4 else { throw CLIError(text: "worker closed its output") }
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

    struct CLIError: Error { let text: String }

    static let flow = """
        local flaky = task("flaky", { max_retries = 2 }, function(x)
          print("attempt " .. dk.context.attempt)
          io.write("stray output\\n")
          if dk.context.attempt < 2 then error("transient") end
          return x * 2
        end)
        local spin = task("spin", { timeout = 0.2 }, function() while true do end end)
        local after = task("after", function(x) return x end)
        return Flow("w", function() after(flaky(Parameter("n", { default = 21 }))) spin() end)
        """

    @Test func loadsOnceAndRunsTasksWithTheLocalRules() throws {
        let dir = try TempDir(["w.lua": Self.flow])
        _ = try CLI.run(["serialize", dir.file("w.lua"), "-o", dir.file("w.dkp")])
        let payload = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("w.dkp"))))
        let worker = try Worker()
        #expect(try worker.request(["op": "hello"]).reply["payload_version"] == 1)
        let loaded = try worker.request(["op": "load", "payload": .string(payload)]).reply
        #expect(loaded["ok"] == true && loaded["cached"] == false)
        let hash = try #require(loaded["hash"])
        #expect(try worker.request(["op": "load", "payload": .string(payload)]).reply["cached"] == true)

        let (reply, events) = try worker.request(["op": "run", "hash": hash, "task": "flaky", "arguments": ["x": 21]])
        #expect(reply["state"] == "Success" && reply["result"] == 42 && reply["attempts"] == 2)
        #expect(events.count == 3)
        #expect(events.first?["message"] == "attempt 1" && events.last?["message"] == "attempt 2")
        #expect(events.dropFirst().first?["message"]?.stringValue?.hasSuffix("w.lua:4: transient") == true)
        #expect(events.map { $0["event"]?.stringValue } == ["log", "retrying", "log"])

        let timeout = try worker.request(["op": "run", "hash": hash, "task": "spin"]).reply
        #expect(timeout["state"] == "TimedOut")
        let trigger = try worker.request(["op": "run", "hash": hash, "task": "after", "upstream_states": ["Failed"]]).reply
        #expect(trigger["state"] == "TriggerFailed")
        let unknown = try worker.request(["op": "run", "hash": hash, "task": "nope"]).reply
        #expect(unknown["error"] == "flow 'w' has no task \"nope\"")
        let notLoaded = try worker.request(["op": "run", "hash": "abc", "task": "flaky"]).reply
        #expect(notLoaded["error"] == "run names a payload that was not loaded (send op=load first)")
        let bad = try worker.request(["op": "load", "payload": .string([1, 2, 3])]).reply
        #expect(bad["ok"] == false)
        let r = worker.close()
        #expect(r.status == 0)
        #expect(r.stderr.contains("stray output"))  // a task's stdout cannot reach the frames
    }
}
