import DKCore
@testable import DKLua
import Testing

/// Running flows: states, retries, timeouts, triggers, signals, mapping, as Prefect 1 does.
@Suite struct RunnerTests {
    @Test(arguments: [ExecutorChoice.local, .threads(3)])
    func resultsFlowBetweenTasks(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local greet = task("greet", function(name) return "Hello, " .. name end)
            local shout = task("shout", function(text) print(text:upper()); return #text end)
            return Flow("hello", function() shout(greet(Parameter("name", { default = "world" }))) end)
            """, parameters: ["name": "dkrun"], executor: executor)
        #expect(result.state.kind == .success)
        #expect(result.taskStates["greet"]?.result == "Hello, dkrun")
        #expect(result.taskStates["shout"]?.result == 12)
        #expect(log.logs == ["shout: HELLO, DKRUN"])
        #expect(log.states(of: "greet") == [.running, .success])
    }

    @Test func retriesUntilSuccessThenReportEachAttempt() throws {
        let (result, log) = try runFlow("""
            local flaky = task("flaky", { max_retries = 3, retry_delay = 0.01 }, function()
              if dk.context.attempt < 3 then error("attempt " .. dk.context.attempt .. " failed") end
              return dk.context.attempt
            end)
            return Flow("r", function() flaky() end)
            """)
        #expect(result.state.kind == .success)
        #expect(result.taskStates["flaky"]?.result == 3)
        #expect(log.states(of: "flaky") == [.running, .retrying, .running, .retrying, .running, .success])
    }

    @Test func retriesRunOut() throws {
        let (result, log) = try runFlow("""
            local bad = task("bad", { max_retries = 1 }, function() dk.fail("no luck") end)
            return Flow("r", function() bad() end)
            """)
        #expect(result.state.kind == .failed)
        #expect(result.taskStates["bad"]?.message == "no luck")
        #expect(log.states(of: "bad") == [.running, .retrying, .running, .failed])
    }

    @Test func timeoutStopsARunningLuaTask() throws {
        let (result, _) = try runFlow("""
            local spin = task("spin", { timeout = 0.2 }, function() while true do end end)
            local after = task("after", function(x) return 1 end)
            return Flow("t", function() after(spin()) end)
            """)
        #expect(result.taskStates["spin"]?.kind == .timedOut)
        #expect(result.taskStates["spin"]?.message == "Task timed out after 200.0 ms")
        #expect(result.taskStates["after"]?.kind == .triggerFailed)
        #expect(result.state.kind == .failed)
    }

    @Test func triggersDecideWhatRunsAfterAFailure() throws {
        let (result, log) = try runFlow("""
            local boom = task("boom", function() error("boom") end)
            local next_step = task("next_step", function(x) return "ran" end)
            local on_failure = task("on_failure", { trigger = dk.triggers.all_failed }, function(x) return "cleanup" end)
            local always = task("always", { trigger = dk.triggers.always_run }, function(x) return "always" end)
            local any_ok = task("any_ok", { trigger = dk.triggers.any_successful }, function(x, y) return "any" end)
            local ok = task("ok", function() return 1 end)
            local f = Flow("t", function()
              local b = boom()
              next_step(b)
              on_failure(b)
              always(b)
              any_ok(b, ok())
            end)
            f:set_reference_tasks { f:get_tasks { name = "on_failure" }[1] }
            return f
            """)
        #expect(result.taskStates["boom"]?.kind == .failed)
        #expect(result.taskStates["boom"]?.message?.hasSuffix("flow.lua:1: boom") == true)
        #expect(result.taskStates["boom"]?.traceback?.hasPrefix("stack traceback:") == true)
        #expect(result.taskStates["next_step"]?.kind == .triggerFailed)
        #expect(result.taskStates["next_step"]?.message == "Trigger was \"all_successful\" but some of the upstream tasks failed")
        #expect(result.taskStates["on_failure"]?.result == "cleanup")
        #expect(result.taskStates["always"]?.result == "always")
        #expect(result.taskStates["any_ok"]?.result == "any")
        // The flow follows its reference task, which succeeded.
        #expect(result.state.kind == .success)
        #expect(log.states(of: "next_step") == [.triggerFailed])
    }

    @Test func skipsPropagateUnlessATaskOptsOut() throws {
        let (result, _) = try runFlow("""
            local maybe = task("maybe", function() dk.skip("nothing to do") end)
            local after = task("after", function(x) return "ran" end)
            local regardless = task("regardless", { skip_on_upstream_skip = false }, function(x) return x == nil end)
            return Flow("s", function() local m = maybe(); after(m); regardless(m) end)
            """)
        #expect(result.taskStates["maybe"]?.kind == .skipped)
        #expect(result.taskStates["maybe"]?.message == "nothing to do")
        #expect(result.taskStates["after"]?.kind == .skipped)
        #expect(result.taskStates["regardless"]?.result == true)
        #expect(result.state.kind == .success)
    }

    @Test(arguments: [ExecutorChoice.local, .threads(2)])
    func mappingExpandsAtRunTime(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local numbers = task("numbers", function(n) local t = {} for i = 1, n do t[i] = i end return t end)
            local scale = task("scale", function(x, factor) return x * factor end)
            local check = task("check", function(x) if x == 20 then error("twenty") end return x + 1 end)
            local total = task("total", { trigger = dk.triggers.all_finished }, function(xs)
              local s = 0 for _, x in pairs(xs) do s = s + x end return s end)
            local none = task("none", function(x) return x end)
            return Flow("m", function()
              local scaled = scale:map(numbers(Parameter("n", { default = 4 })), dk.unmapped(10))
              local checked = check:map(scaled)
              total(checked)
              none:map({})
            end)
            """, executor: executor)
        #expect(result.taskStates["scale"]?.kind == .mapped)
        #expect(result.taskStates["scale"]?.result == [10, 20, 30, 40])
        #expect(result.taskStates["check"]?.children.map(\.kind) == [.success, .failed, .success, .success])
        #expect(result.taskStates["check"]?.result == [11, .null, 31, 41])
        #expect(result.taskStates["total"]?.result == 83)
        #expect(result.taskStates["none"]?.result == [])
        #expect(log.states(of: "scale[3]") == [.running, .success])
    }

    @Test func aFailedChildFailsOnlyItsOwnDownstreamChild() throws {
        let (result, _) = try runFlow("""
            local a = task("a", function(x) if x == 2 then error("two") end return x end)
            local b = task("b", function(x) return x * 100 end)
            return Flow("m", function() b:map(a:map({ 1, 2, 3 })) end)
            """)
        #expect(result.taskStates["b"]?.children.map(\.kind) == [.success, .triggerFailed, .success])
        #expect(result.taskStates["b"]?.result == [100, .null, 300])
    }

    @Test(arguments: [
        ("return Flow('m', function() t:map(5) end)",
         "At least one upstream state has an unmappable result: argument 'x' is an integer, not an array"),
        ("return Flow('m', function() t:map(broken()) end)", "No upstream states can be mapped over."),
    ])
    func badMapsFailTheTask(body: String, message: String) throws {
        let (result, _) = try runFlow("""
            t = task("t", function(x) return x end)
            broken = task("broken", function() error("no list today") end)
            \(body)
            """)
        let state = try #require(result.taskStates["t"])
        #expect(state.kind == .failed)
        #expect(state.message == message)
    }

    @Test func noutSplitsResults() throws {
        let (result, _) = try runFlow("""
            local split = task("split", { nout = 2 }, function() return "left", "right" end)
            local join = task("join", function(a, b) return b .. "+" .. a end)
            return Flow("n", function() local l, r = split(); join(l, r) end)
            """)
        #expect(result.taskStates["split"]?.result == ["left", "right"])
        #expect(result.taskStates["join"]?.result == "right+left")
    }

    @Test func resultsThatCannotCrossStatesFailTheirTask() throws {
        let (result, _) = try runFlow("""
            local bad = task("bad", function() return { ok = 1, f = { print } } end)
            local cyclic = task("cyclic", function() local t = {} t[1] = t return t end)
            return Flow("n", function() bad() cyclic() end)
            """)
        #expect(result.taskStates["bad"]?.message == "task 'bad' returned a value that cannot cross Lua states: result.f[1] is a function, which cannot cross Lua states")
        #expect(result.taskStates["cyclic"]?.message == "task 'cyclic' returned a value that cannot cross Lua states: result[1] is part of a cycle (a table that contains itself)")
    }

    @Test func contextDescribesTheRunningTask() throws {
        let (result, _) = try runFlow("""
            local ctx = dk.context
            local show = task("show", function(x, n)
              return { flow = ctx.flow, task = ctx.task, slug = ctx.task_slug, attempt = ctx.attempt,
                       index = ctx.map_index, n = ctx.parameters.n }
            end)
            return Flow("c", function() show:map({ "a", "b" }, dk.unmapped(Parameter("n", { default = 7 }))) end)
            """)
        #expect(result.taskStates["show"]?.result == [
            ["flow": "c", "task": "show", "slug": "show", "attempt": 1, "index": 0, "n": 7],
            ["flow": "c", "task": "show", "slug": "show", "attempt": 1, "index": 1, "n": 7],
        ])
    }

    /// A task's dk.context is made at its first read (`task_context`), for each attempt: a
    /// retry sees its own, a task after one that read none sees its own.
    @Test func contextIsMadeWhenFirstReadForEachAttempt() throws {
        let (result, _) = try runFlow("""
            local t = task("t", { max_retries = 1, retry_delay = 0 }, function()
              local attempt, id = dk.context.attempt, dk.context.task_run_id
              if attempt == 1 then error("once more") end
              return { attempt = attempt, again = dk.context.attempt, id = id }
            end)
            local quiet = task("quiet", function() return 1 end)
            local after = task("after", function(x) return dk.context.task_name .. x end)
            return Flow("c", function() t() after(quiet()) end)
            """)
        let runID = try #require(result.taskStates["t"]?.result["id"]?.stringValue)
        #expect(runID.hasSuffix("/t"))
        #expect(result.taskStates["t"]?.result["attempt"] == 2)
        #expect(result.taskStates["t"]?.result["again"] == 2)
        #expect(result.taskStates["after"]?.result == "after1")
    }

    /// Host functions called in a coroutine see the coroutine's arguments and hand it their
    /// results and errors (Swift reads and pushes on the main thread's stack).
    @Test func hostFunctionsWorkInsideCoroutines() throws {
        let (result, log) = try runFlow("""
            local t = task("t", function()
              return coroutine.wrap(function()
                print("inside", 1)
                dk.log("logged %d", 2)
                local name = dk.context.task_name
                coroutine.yield(dk.json.encode({ name = name, again = dk.context.task_name }))
              end)()
            end)
            local bad = task("bad", function()
              local ok, err = coroutine.resume(coroutine.create(function() return dk.json.decode("{") end))
              assert(not ok)
              return dk.context.task_name .. ": " .. err
            end)
            local quit = task("quit", { state_handlers = { function()
              coroutine.wrap(function() os.exit(3) end)()
            end } }, function() end)
            return Flow("co", function() t() bad() quit() end)
            """, standardLibrary: true)
        #expect(result.taskStates["t"]?.result == #"{"again":"t","name":"t"}"#)
        // The position is the coroutine's own line, not that of the code resuming it.
        #expect(result.taskStates["quit"]?.message?.hasSuffix("flow.lua:15: os.exit(3) called during a flow run") == true,
                "\(result.taskStates["quit"]?.message ?? "")")
        #expect(log.logs.prefix(2) == ["t: inside\t1", "t: logged 2"])
        let bad = try #require(result.taskStates["bad"]?.result.stringValue)
        #expect(bad.hasPrefix("bad: ") && bad.contains("dk.json.decode"), "\(bad)")
    }

    /// `dkrun FLOW.lua` lets the tables describing a flow go once it is described: a task that
    /// changes the flow's graph while it runs fails, saying why.
    @Test func aRunningFlowsGraphCannotChange() throws {
        let (result, _) = try runFlow("""
            local a = task("a", function() return 1 end)
            local f
            local grow = task("grow", function() f:add_edge(a, a) end)
            local add = task("add", function() f:add_task(task("late", function() end)) end)
            local gate = task("gate", function() dk.case(a, 1, function() f:add_task(task("gated", function() end)) end) end)
            f = Flow("g", function() grow(); add(); gate() end)
            return f
            """)
        for name in ["grow", "add", "gate"] {
            #expect(result.taskStates[name]?.message?.hasSuffix("flow 'g' is running: its graph cannot change any more") == true, "\(name)")
        }
    }

    @Test func logLevelsReachTheObserver() throws {
        let (_, log) = try runFlow("""
            local t = task("t", function() dk.log("plain %d", 1); dk.log.warning("careful"); print("a", 2, nil) end)
            return Flow("l", function() t() end)
            """)
        #expect(log.logs == ["t: plain 1", "t: careful", "t: a\t2\tnil"])
        let levels = log.events.compactMap { if case let .log(_, level, _, _) = $0 { return level } else { return nil } }
        #expect(levels == [.info, .warning, .info])
    }

    @Test func flowRunFromLuaReturnsStates() throws {
        let host = try LuaHost(sources: .script(path: "repl.lua", searchPath: ModuleSearchPath(directories: [])))
        host.allowsFlowRun = true
        let results = try host.execute("""
            local t = task("t", function(x) return x * 2 end)
            local f = Flow("f", function() t(Parameter("x", { default = 1 })) end)
            local s = f:run { parameters = { x = 21 } }
            return s.state, s:is_successful(), s.tasks.t.result, s:get("t").state, tostring(s)
            """, chunkName: "=repl")
        #expect(results == ["Success", true, 42, "Success", #"Success("All reference tasks succeeded.")"#])
    }

    @Test func flowRunIsRefusedWhenDkrunRunsTheScript() throws {
        let dir = try ScriptDirectory("""
            local t = task("t", function() end)
            local f = Flow("f", function() t() end)
            f:run()
            return f
            """)
        #expect(dir.loadError() == "flow.lua:3: flow:run is for the REPL and Lua tests; `dkrun FILE` runs the flow the script returns")
    }
}

/// Prefect 1's environment hooks around a local run.
@Suite struct EnvironmentHookTests {
    @Test func onStartAndOnExitRunAroundTheFlow() throws {
        let (result, log) = try runFlow("""
            local t = task("t", function() print("task") end)
            return Flow("h", { environment = LocalEnvironment {
              on_start = function() print("starting") end,
              on_exit = function() print("exiting") end,
            } }, function() t() end)
            """)
        #expect(result.state.kind == .success)
        #expect(log.logs == ["-: starting", "t: task", "-: exiting"])
    }

    @Test func aFailingOnStartFailsTheFlowAndRunsNoTask() throws {
        let (result, log) = try runFlow("""
            local t = task("t", function() end)
            return Flow("h", { environment = LocalEnvironment { on_start = function() error("no cluster") end } },
                        function() t() end)
            """)
        #expect(result.state.kind == .failed)
        #expect(result.state.message?.wholeMatch(of: #/on_start hook failed: /.*/flow\.lua:2: no cluster/#) != nil)
        #expect(result.taskStates.isEmpty)
        #expect(log.states(of: "t") == [])
    }

    @Test func aFailingOnExitLeavesAFailedFlowItsReason() throws {
        let (result, log) = try runFlow("""
            local t = task("t", function() error("bad data") end)
            return Flow("h", { environment = LocalEnvironment { on_exit = function() error("cannot clean up") end } },
                        function() t() end)
            """)
        #expect(result.state == TaskState(.failed, message: "Some reference tasks failed: t"))
        #expect(log.logs.count == 1 && log.logs[0].wholeMatch(of: #/-: on_exit hook failed: /.*/flow\.lua:2: cannot clean up/#) != nil,
                "\(log.logs)")
    }

    @Test func aFailingOnExitFailsAFlowWhoseTasksSucceeded() throws {
        let (result, log) = try runFlow("""
            local t = task("t", function() return 1 end)
            return Flow("h", { environment = LocalEnvironment { on_exit = function() error("cannot clean up") end } },
                        function() t() end)
            """)
        #expect(result.state.kind == .failed)
        #expect(result.state.message?.wholeMatch(of: #/on_exit hook failed: /.*/flow\.lua:2: cannot clean up/#) != nil)
        #expect(log.states(of: "t") == [.running, .success])
        // The flow's end is reported once, after on_exit, in its final state.
        let ends = log.events.compactMap { if case let .flowFinished(_, state, _, _, _) = $0 { return state.kind } else { return nil } }
        #expect(ends == [.failed])
    }
}
