import DKCore
@testable import DKLua
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What workers rely on: a fresh Lua state given only the payload rebuilds the same DAG and
/// can run any single task given its upstream results.
@Suite struct PayloadRebuildTests {
    static let script = """
        local lib = require("vendorlib.math")
        local double = task("double", function(x) return lib.double(x) end)
        local add = task("add", function(a, b) return a + b end)
        return Flow("p", { environment = DaskKubernetesEnvironment { worker_spec_file = "worker.yaml" } }, function()
          local n = Parameter("n", { default = 2 })
          add(double(n), 1)
        end)
        """

    @Test func rebuildsFromThePayloadAloneAndRunsOneTask() throws {
        var bytes: [UInt8] = []
        var dagHash = ""
        do {
            let dir = try ScriptDirectory(Self.script, files: [
                "vendorlib/math.lua": "local M = {}\nfunction M.double(x) return x * 2 end\nreturn M\n",
                "worker.yaml": "kind: Pod\n",
            ])
            let (host, spec) = try dir.load()
            bytes = host.sources.payload(for: spec, parameters: ["n": 5]).encoded()
            dagHash = Payload.dagHash(spec)
        }  // the directory and every file in it are gone now
        let payload = try Payload(bytes: bytes)
        #expect(payload.modules.keys.sorted() == ["vendorlib.math"])
        #expect(payload.files.keys.sorted() == ["worker.yaml"])
        #expect(Payload.dagHash(payload.flow) == dagHash)
        let worker = try LuaHost.rebuild(payload)  // fails unless the script builds that DAG again

        let add = try #require(payload.flow.task("add"))
        let invoker = worker.makeTaskInvoker()
        let outcome = invoker.invoke(TaskCall(id: TaskRunID(task: "add"), task: add, arguments: ["a": 10, "b": 1],
                                             run: FlowRunContext(flowName: "p", parameters: ["n": 5]))) { _, _ in }
        #expect(outcome == .success(11))
        let double = try #require(payload.flow.task("double"))
        #expect(invoker.invoke(TaskCall(id: TaskRunID(task: "double"), task: double, arguments: ["x": 21],
                                       run: FlowRunContext(flowName: "p", parameters: [:]))) { _, _ in } == .success(42))
    }

    @Test func sameScriptAndParametersGiveTheSameBytes() throws {
        let files = ["vendorlib/math.lua": "return { double = function(x) return 2 * x end }", "worker.yaml": "kind: Pod\n"]
        let dir = try ScriptDirectory(Self.script, files: files)
        func bytes(_ n: Int64) throws -> [UInt8] {
            let (host, spec) = try dir.load()
            return host.sources.payload(for: spec, parameters: ["n": .int(n)]).encoded()
        }
        let (a, b, c) = (try bytes(1), try bytes(1), try bytes(2))
        #expect(a == b)
        #expect(a != c)
    }

    @Test func aScriptThatBuildsADifferentDAGIsCaught() throws {
        // The script's shape depends on its environment, which differs where it is rebuilt.
        let dir = try ScriptDirectory("""
            local t = task("t", function() end)
            local n = tonumber(os.getenv("DKRUN_TEST_TASK_COUNT"))
            return Flow("u", function() for i = 1, n do t() end end)
            """)
        setenv("DKRUN_TEST_TASK_COUNT", "2", 1)
        let (host, spec) = try dir.load()
        let payload = host.sources.payload(for: spec, parameters: [:])
        setenv("DKRUN_TEST_TASK_COUNT", "3", 1)
        let error = #expect(throws: PayloadError.self) { try LuaHost.rebuild(payload) }
        #expect(error?.description == "rebuilding flow 'u' from its payload gave a different DAG: the script builds "
            + "its flow differently on each run (does it depend on time, randomness or pairs() order?)")
    }
}
