import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A task's timeout stops whatever the task is doing: Lua code (RunnerTests), a sleep, a
/// program, an HTTP transfer. The flows run two copies of a task, so that with threads one
/// runs on another thread than the caller's. No test measures time: each checks what ran
/// after the blocking call (nothing) and what is left of a program (nothing).
@Suite struct TimeoutTests {
    static let executors: [ExecutorChoice] = [.local, .threads(2)]

    /// Each copy of the task ended TimedOut with the message of any timeout.
    func expectTimedOut(_ result: FlowRunResult, _ names: [String]) {
        for name in names {
            #expect(result.taskStates[name]?.kind == .timedOut, "\(name)")
            #expect(result.taskStates[name]?.message == "Task timed out after 1.0 s", "\(name)")
        }
        #expect(result.state.kind == .failed)
    }

    @Test(arguments: executors)
    func aSleepWakesAtTheDeadline(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local nap = task("nap", { timeout = 1 }, function(i) dk.time.sleep(30); print("woke " .. i) end)
            return Flow("t", function() nap(1) nap(2) end)
            """, executor: executor, standardLibrary: true)
        expectTimedOut(result, ["nap", "nap-2"])
        #expect(log.logs.isEmpty)
    }

    @Test(arguments: executors)
    func aProgramIsStoppedWithWhatItStarted(executor: ExecutorChoice) throws {
        // `polite` ends at SIGTERM; `stubborn` ignores it (and so does its sleep), so it takes
        // SIGKILL. Each writes its pid and its background sleep's first.
        let dir = try TempDir()
        let (result, log) = try runFlow("""
            local polite = task("polite", { timeout = 1 }, function()
              dk.shell.run { "sh", "-c", "sleep 30 & echo $$ $! > \(dir.file("polite")); wait" }
              print("polite returned")
            end)
            local stubborn = task("stubborn", { timeout = 1 }, function()
              dk.shell.run { "sh", "-c", "trap '' TERM; sleep 30 & echo $$ $! > \(dir.file("stubborn")); wait; echo finished >> \(dir.file("stubborn"))" }
              print("stubborn returned")
            end)
            return Flow("t", function() polite() stubborn() end)
            """, executor: executor, standardLibrary: true)
        expectTimedOut(result, ["polite", "stubborn"])
        #expect(log.logs.isEmpty)
        for name in ["polite", "stubborn"] {
            let pids = try processIDs(in: dir.file(name))
            try #require(pids.count == 2, "\(name): \(pids)")  // no "finished": the shell never got past `wait`
            #expect(kill(pids[0], 0) == -1 && errno == ESRCH, "\(name): the shell was reaped")
            #expect(stopsRunning(pids[1]), "\(name): its background sleep is gone")
        }
    }

    @Test(arguments: executors)
    func anHTTPTransferEndsAtTheDeadline(executor: ExecutorChoice) throws {
        let server = try HTTPTestServer()
        let (result, log) = try runFlow("""
            local get = task("get", { timeout = 1 }, function(i)
              dk.http.get("\(server.url("/slow"))")
              print("answered " .. i)
            end)
            -- The request's own timeout, before the task's, stays an HTTP error.
            local own = task("own", { timeout = 30 }, function()
              local ok, err = pcall(dk.http.get, "\(server.url("/slow"))", { timeout = 0.2 })
              return err:match("dk.http: timed out for")
            end)
            return Flow("t", function() get(1) get(2) own() end)
            """, executor: executor, standardLibrary: true)
        expectTimedOut(result, ["get", "get-2"])
        #expect(result.taskStates["own"]?.result == "dk.http: timed out for")
        #expect(log.logs.isEmpty)
    }

    @Test func aTaskThatCatchesTheTimeoutStillEndsTimedOut() throws {
        // After the deadline every blocking call refuses at once, and returning does not help.
        let (result, log) = try runFlow("""
            local t = task("t", { timeout = 1 }, function()
              print(select(2, pcall(dk.time.sleep, 30)))
              print(select(2, pcall(dk.shell.run, { "sleep", "30" })))
              return "returned"
            end)
            return Flow("t", function() t() end)
            """, standardLibrary: true)
        expectTimedOut(result, ["t"])
        #expect(log.logs == ["t: timed out", "t: dk.shell.run: timed out"])
    }

    @Test func aTaskThatRanPastItsDeadlineInCTimedOut() throws {
        // Nothing stops a long C function (a pattern match here), but the task still timed out.
        let (result, log) = try runFlow("""
            local t = task("t", { timeout = 0.05 }, function()
              string.rep("a", 800):find(".-.-x")
              print("back")
              return "late"
            end)
            return Flow("t", function() t() end)
            """)
        #expect(result.taskStates["t"]?.kind == .timedOut)
        #expect(log.logs == ["t: back"])
    }

    @Test(arguments: executors)
    func aTaskThatSetsHooksOfItsOwnStillTimesOut(executor: ExecutorChoice) throws {
        // The timeout is a hook, and Lua has one hook per thread: dkrun's debug.sethook keeps it.
        let (result, _) = try runFlow("""
            local off = task("off", { timeout = 1 }, function() debug.sethook() while true do end end)
            local own = task("own", { timeout = 1 }, function() debug.sethook(function() end, "crl", 1) while true do end end)
            local co = task("co", { timeout = 1 }, function()
              local spin = coroutine.create(function() debug.sethook() while true do end end)
              debug.sethook(spin)
              return coroutine.resume(spin)
            end)
            return Flow("t", function() off() own() co() end)
            """, executor: executor)
        for name in ["off", "own", "co"] {
            #expect(result.taskStates[name] == TaskState(.timedOut, message: "Task timed out after 1.0 s"), "\(name)")
        }
    }

    @Test func aScriptsOwnHooksRunAsInLua() throws {
        let (result, _) = try runFlow("""
            local t = task("t", function()
              local events, counts = {}, 0
              debug.sethook(function(event, line) events[event] = (events[event] or 0) + 1 end, "crl")
              local f, mask, count = debug.gethook()
              local function g() return 1 end
              g()
              debug.sethook()
              local off = debug.gethook()
              -- A count above dkrun's own check interval (1000) that it does not divide.
              debug.sethook(function(event) counts = counts + 1 end, "", 1001)
              local _, _, every = debug.gethook()
              local x = 0
              for i = 1, 100000 do x = x + i end
              debug.sethook()
              return { type(f), mask, count, events.call > 0, events["return"] > 0, events.line > 0, off == nil,
                       every, counts > 100 and counts < 1000 }
            end)
            return Flow("t", function() t() end)
            """)
        #expect(result.taskStates["t"]?.result == ["function", "crl", 0, true, true, true, true, 1001, true])
    }

    @Test func afterATimedOutTaskTheScriptHasNoDeadline() throws {
        let dir = try ScriptDirectory("""
            local t = task("t", { timeout = 1 }, function() dk.time.sleep(30) end)
            return Flow("t", function() t() end)
            """)
        let (host, spec) = try dir.load(standardLibrary: true)
        let result = try host.execution(of: spec, parameters: [:], executor: .local, observer: EventRecorder()).run()
        #expect(result.taskStates["t"]?.kind == .timedOut)
        #expect(try host.execute("dk.time.sleep(1.1) return dk.shell.run({ 'echo', 'ran' }).stdout", chunkName: "=t") == ["ran\n"])
    }
}
