import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Lua's os.execute and io.popen, which dkrun runs itself (in a process group of their own):
/// they answer as Lua's do, and a task's timeout stops them with everything they started.
@Suite struct ProcessFunctionTests {
    @Test func theyAnswerAsLuasOwn() throws {
        let dir = try TempDir()
        let (result, _) = try runFlow("""
            local t = task("t", function()
              local r = {}
              local function add(...) r[#r + 1] = table.concat(table.pack(...), " ", 1, select("#", ...)) end
              add(tostring(os.execute()))
              add(tostring(os.execute("exit 3")), select(2, os.execute("exit 3")))
              add(select(2, os.execute("kill -9 $$")))
              local f = io.popen("echo hello; echo world")
              add(io.type(f), f:read("l"), f:read("a"), tostring(f:close()))
              local w = io.popen("cat > \(dir.file("written"))", "w")
              w:write("some text")
              add(tostring(w:close()), io.open("\(dir.file("written"))"):read("a"))
              add(tostring(io.popen("exit 7"):close()), select(2, io.popen("exit 7"):close()))
              local lines = {}
              for line in io.popen("printf 'a\\nb\\n'"):lines() do lines[#lines + 1] = line end
              add(table.unpack(lines))
              -- A command that is gone: writing fails (no SIGPIPE ends dkrun).
              local gone = io.popen("exec true", "w")
              os.execute("sleep 0.1")
              local ok, err = gone:write(string.rep("x", 1 << 20))
              add(tostring(ok), err)
              return r
            end)
            return Flow("p", function() t() end)
            """)
        #expect(result.taskStates["t"]?.result == [
            "true", "nil exit 3", "signal 9", "file hello world\n true", "true some text", "nil exit 7", "a b",
            "nil Broken pipe",
        ])
    }

    @Test(arguments: TimeoutTests.executors)
    func aTimeoutStopsThemWithWhatTheyStarted(executor: ExecutorChoice) throws {
        // Each command writes its shell's pid and its background sleep's, then waits for it.
        let dir = try TempDir()
        func command(_ name: String) -> String { "sleep 30 & echo $$ $! > \(dir.file(name)); wait" }
        let (result, log) = try runFlow("""
            local execute = task("execute", { timeout = 1 }, function() os.execute("\(command("execute"))") end)
            local read = task("read", { timeout = 1 }, function() return io.popen("\(command("read"))"):read("a") end)
            local write = task("write", { timeout = 1 }, function() io.popen("\(command("write"))", "w"):close() end)
            return Flow("t", function() execute() read() write() end)
            """, executor: executor)
        for name in ["execute", "read", "write"] {
            #expect(result.taskStates[name] == TaskState(.timedOut, message: "Task timed out after 1.0 s"), "\(name)")
            let pids = try processIDs(in: dir.file(name))
            try #require(pids.count == 2, "\(name): \(pids)")
            #expect(kill(pids[0], 0) == -1 && errno == ESRCH, "\(name): the shell was reaped")
            #expect(stopsRunning(pids[1]), "\(name): its background sleep is gone")
        }
        #expect(log.logs.isEmpty)
    }
}

/// os.exit ends dkrun only where the script is the program (its top level, the REPL: see
/// dkrunTests); during a run it fails what called it, and the run goes on.
@Suite struct ExitTests {
    @Test(arguments: TimeoutTests.executors)
    func aTaskThatCallsItFailsAndTheRunGoesOn(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local exits = task("exits", function() os.exit(3) end)
            local caught = task("caught", function() print(pcall(function() os.exit(false) end)) return "went on" end)
            local after = task("after", { trigger = dk.triggers.all_finished }, function() return "ran" end)
            local flow = Flow("exits")
            flow:set_dependencies(after, { upstream_tasks = { exits, caught } })
            return flow
            """, executor: executor)
        #expect(result.taskStates["exits"]?.kind == .failed && result.taskStates["exits"]?.message == "the task called os.exit(3)")
        #expect(result.taskStates["caught"]?.kind == .failed && result.taskStates["caught"]?.message == "the task called os.exit(1)")
        #expect(result.taskStates["after"]?.result == "ran")
        #expect(result.state.kind == .success)  // `after` is the only reference task
        #expect(log.logs.count == 1 && log.logs[0].wholeMatch(of: #/caught: false\t.*/flow\.lua:2: os\.exit\(1\) called during a flow run/#) != nil,
                "\(log.logs)")
    }

    @Test func aHookOrAStateHandlerThatCallsItFails() throws {
        let (started, _) = try runFlow("""
            local t = task("t", function() end)
            return Flow("h", { environment = LocalEnvironment { on_start = function() os.exit(0) end } }, function() t() end)
            """)
        #expect(started.state.message?.wholeMatch(of: #/on_start hook failed: .*/flow\.lua:2: os\.exit\(0\) called during a flow run/#) != nil,
                "\(started.state)")
        let (handled, _) = try runFlow("""
            local t = task("t", { state_handlers = { function() os.exit(2) end } }, function() return 1 end)
            return Flow("h", function() t() end)
            """)
        #expect(handled.taskStates["t"]?.kind == .failed)
        #expect(handled.taskStates["t"]?.message?.hasSuffix("flow.lua:1: os.exit(2) called during a flow run") == true,
                "\(String(describing: handled.taskStates["t"]))")
    }

    @Test func aFlowRebuiltForARunCannotEndItsProcess() throws {
        // The script exits only where a marker exists: on the worker that rebuilds it, say.
        let marker = "/tmp/dkt-exit-" + UUID().uuidString
        let dir = try ScriptDirectory("""
            if io.open("\(marker)") then os.exit(1) end
            return Flow("f", function() task("t", function() end)() end)
            """)
        let (host, spec) = try dir.load()
        let payload = host.sources.payload(for: spec, parameters: [:])
        try "".write(toFile: marker, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let error = #expect(throws: LuaError.self) { try LuaHost.rebuild(payload) }
        #expect(error?.message.hasSuffix("flow.lua:1: os.exit(1) called during a flow run") == true, "\(String(describing: error))")
    }
}
