import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing

/// Prefect 1's task features in dkrun: dk.loop, pausing, dk.flatten, task_run_name, the
/// context fields, state handlers, and mapped children counted as Prefect counts them.
/// Each runs here and on threads, where every thread rebuilds the flow in its own Lua state.

private let executors: [ExecutorChoice] = [.local, .threads(3)]

/// A task's log lines without its name ("t: x" -> "x").
private func logs(of run: String, _ log: EventRecorder) -> [String] {
    log.logs.filter { $0.hasPrefix(run + ": ") }.map { String($0.dropFirst(run.count + 2)) }
}

/// A state's message with the script's directory left out ("/tmp/dkt-1/flow.lua:3: x" -> "flow.lua:3: x").
private func message(_ state: TaskState?) -> String? {
    state?.message?.replacing(#/\/tmp\/dkt-[^\/]+\//#, with: "")
}

/// The task-state counts the run reported at its end.
private func counts(_ log: EventRecorder) -> [StateKind: Int] {
    log.events.compactMap { if case let .flowFinished(_, _, counts, _, _) = $0 { return counts } else { return nil } }.last ?? [:]
}

@Suite struct LoopTests {
    @Test(arguments: executors)
    func loopRunsTheTaskAgainWithTheResultAndCount(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local count = task("count", function(limit)
              local ctx = dk.context
              local function show(r) return r and "{" .. table.concat(r, ",") .. "}" or "nil" end
              dk.log("loop %d (task_loop_count %d), result %s", ctx.loop_count, ctx.task_loop_count, show(ctx.loop_result))
              assert(show(ctx.loop_result) == show(ctx.task_loop_result))
              local seen = ctx.loop_result or {}
              if #seen < limit then
                seen[#seen + 1] = ctx.loop_count
                dk.loop(seen, "iteration " .. ctx.loop_count)
              end
              return seen
            end)
            local after = task("after", function(xs) return #xs end)
            return Flow("loop", function() after(count(3)) end)
            """, executor: executor)
        #expect(result.state.kind == .success)
        #expect(result.taskStates["count"]?.result == [1, 2, 3])
        #expect(result.taskStates["after"]?.result == 3)
        #expect(log.states(of: "count") == [.running, .looped, .running, .looped, .running, .looped, .running, .success])
        #expect(logs(of: "count", log) == ["loop 1 (task_loop_count 1), result nil", "loop 2 (task_loop_count 2), result {1}",
                                           "loop 3 (task_loop_count 3), result {1,2}", "loop 4 (task_loop_count 4), result {1,2,3}"])
        let looped = log.events.compactMap {
            if case let .taskState(id, state, _, _, _, _) = $0, id.task == "count", state.kind == .looped { return state.message } else { return nil }
        }
        #expect(looped == ["iteration 1", "iteration 2", "iteration 3"])
    }

    @Test(arguments: executors)
    func mappedChildrenLoopEachOnTheirOwn(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local countdown = task("countdown", function(n)
              local left = dk.context.loop_result or n
              if left > 0 then dk.loop(left - 1) end
              return dk.context.loop_count
            end)
            return Flow("loops", function() countdown:map({ 0, 2, 1 }) end)
            """, executor: executor)
        #expect(result.taskStates["countdown"]?.result == [1, 3, 2])
        #expect(log.states(of: "countdown[1]") == [.running, .looped, .running, .looped, .running, .success])
    }

    /// Prefect 1's test_looping_with_retries_works_in_a_flow: a failed iteration is retried,
    /// and the loop goes on from there.
    @Test(arguments: executors)
    func aRetryResumesTheLoop(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local looper = task("looper", { max_retries = 1 }, function(x)
              local ctx = dk.context
              if ctx.loop_count == 2 and ctx.task_run_count == 1 then error("err") end
              if ctx.loop_count < 20 then dk.loop((ctx.loop_result or 0) + x) end
              return ctx.loop_result + x
            end)
            local downstream = task("downstream", function(total) return total * total end)
            return Flow("looping-with-retries", function() downstream(looper(10)) end)
            """, executor: executor)
        #expect(result.taskStates["looper"]?.result == 200)
        #expect(result.taskStates["downstream"]?.result == 40000)
        #expect(log.states(of: "looper").prefix(5) == [.running, .looped, .running, .retrying, .running])
        #expect(log.states(of: "looper").filter { $0 == .looped }.count == 19)
    }

    @Test(arguments: [
        ("dk.loop(print)", "result is a function"),
        ("dk.loop({ 1, { f = print } })", "result[2][\"f\"] is a function"),
    ])
    func aLoopResultThatCannotCrossStatesFailsTheTask(call: String, problem: String) throws {
        let (result, log) = try runFlow("""
            local bad = task("bad", function() \(call) end)
            return Flow("l", function() bad() end)
            """)
        let state = try #require(result.taskStates["bad"])
        #expect(state.kind == .failed)
        #expect(state.message?.hasSuffix("flow.lua:1: bad argument #1 to 'loop' (a value that can cross states expected: \(problem))") == true,
                "\(state.message ?? "")")
        #expect(log.states(of: "bad") == [.running, .failed])
    }
}

@Suite struct PauseTests {
    @Test(arguments: executors)
    func aPausedTaskHoldsWhatFollowsItAndPausesTheFlow(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local start = task("start", function() return 1 end)
            local wait_here = task("wait_here", function(x) dk.pause("waiting for approval") end)
            local after = task("after", function(x) return "after" end)
            local last = task("last", { trigger = dk.triggers.always_run }, function(x) return "last" end)
            local elsewhere = task("elsewhere", function(x) return x + 1 end)
            return Flow("pause", function()
              local s = start()
              last(after(wait_here(s)))
              elsewhere(s)
            end)
            """, executor: executor)
        #expect(result.taskStates["wait_here"] == TaskState(.paused, message: "waiting for approval"))
        for t in ["after", "last"] {
            #expect(result.taskStates[t] == TaskState(.pending, message: "Waiting for a paused upstream task"))
            #expect(log.states(of: t) == [.pending])
        }
        #expect(result.taskStates["elsewhere"]?.result == 2)
        #expect(result.state == TaskState(.paused, message: "Paused: wait_here waits for approval"))
        #expect(DKCore.ExitStatus(flowState: result.state) == .paused)
        #expect(DKCore.ExitStatus.paused.rawValue == 3)
    }

    @Test(arguments: executors)
    func manualOnlyPausesWithoutRunning(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local gate = task("gate", { trigger = dk.triggers.manual_only }, function() print("ran") end)
            local first = task("first", function() return 1 end)
            local approve = task("approve", { trigger = dk.triggers.manual_only }, function(x) print("ran") end)
            local deploy = task("deploy", function(x) print("ran") end)
            return Flow("manual", function() gate(); deploy(approve(first())) end)
            """, executor: executor)
        for t in ["gate", "approve"] {
            #expect(result.taskStates[t] == TaskState(.paused, message: "Trigger function is \"manual_only\""))
            #expect(log.states(of: t) == [.paused])
        }
        #expect(result.taskStates["deploy"]?.kind == .pending)
        #expect(log.logs.isEmpty)
        #expect(result.state == TaskState(.paused, message: "Paused: gate, approve wait for approval"))
    }

    @Test(arguments: executors)
    func aPausedChildHoldsTheTasksAfterItsMappedTask(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local check = task("check", function(x) if x == 2 then dk.pause() end return x end)
            local each = task("each", function(x) return x * 10 end)
            local total = task("total", function(xs) return #xs end)
            return Flow("pause-mapped", function()
              local checked = check:map({ 1, 2, 3 })
              each:map(checked)
              total(checked)
            end)
            """, executor: executor)
        #expect(result.taskStates["check"]?.children.map(\.kind) == [.success, .paused, .success])
        // Children pair by index: only the one after the paused child waits.
        #expect(result.taskStates["each"]?.children.map(\.kind) == [.success, .pending, .success])
        #expect(result.taskStates["total"]?.kind == .pending)
        #expect(result.state.kind == .paused)
    }
}

@Suite struct FlattenTests {
    @Test(arguments: executors)
    func flattenMapsOverATasksListOfLists(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local lists = task("lists", function() return { { 1, 2 }, {}, { 3 } } end)
            local inc = task("inc", function(x) return x + 1 end)
            return Flow("flatten", function() inc:map(dk.flatten(lists())) end)
            """, executor: executor)
        #expect(result.taskStates["inc"]?.result == [2, 3, 4])
    }

    @Test(arguments: executors)
    func flattenMapsOverEveryElementOfAMappedTasksLists(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local make_range = task("make_range", function(n)
              if n == 9 then error("no nines") end
              local out = {}
              for i = 1, n do out[i] = n * 10 + i end
              return out
            end)
            local show = task("show", function(x, sep) return sep .. x end)
            return Flow("flatten-mapped", function()
              show:map(dk.flatten(make_range:map({ 2, 0, 9, 1 })), dk.unmapped(":"))
            end)
            """, executor: executor)
        let show = try #require(result.taskStates["show"])
        #expect(show.result == [":21", ":22", .null, ":11"])
        // The failed child's place is one element, whose child sees that failure.
        #expect(show.children.map(\.kind) == [.success, .success, .triggerFailed, .success])
    }

    @Test(arguments: [
        ("local l = task('l', function() return { { 1 } } end)\nlocal t = task('t', function(x) end)\n"
            + "return Flow('x', function()\n  t(dk.flatten(l()))\nend)",
         "flow.lua:4: bad argument 'x' to task 't' (dk.flatten is for the arguments of t:map)"),
        ("local l = task('l', function() return { { 1 } } end)\nlocal t = task('t', function(x, y) end)\n"
            + "return Flow('x', function()\n  t:map({ 1 }, dk.unmapped(dk.flatten(l())))\nend)",
         "flow.lua:4: bad argument 'y' to task 't' (dk.flatten is for the arguments of t:map)"),
        ("local t = task('t', function(x) end)\nreturn Flow('x', function()\n  t:map(dk.flatten({ { 1 }, { 2 } }))\nend)",
         "flow.lua:3: bad argument #1 to 'flatten' (task expected, got table)"),
    ])
    func flattenIsForTasksMappedOver(script: String, message: String) throws {
        #expect(try ScriptDirectory(script).loadError() == message)
    }
}

@Suite struct TaskRunNameTests {
    @Test(arguments: executors)
    func theTemplateNamesEachRun(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local named = task("named", { task_run_name = "{flow_name}/{x}-{map_index}-{env} {{literal}}" },
              function(x) return dk.context.task_run_name end)
            local plain = task("plain", function() return dk.context.task_run_name end)
            local use = task("use", function(env) end)
            return Flow("names", function()
              use(Parameter("env", { default = "dev" }))
              named:map({ "a", "b" })
              plain()
            end)
            """, parameters: ["env": "prod"], executor: executor)
        #expect(result.taskStates["named"]?.result == ["names/a-0-prod {literal}", "names/b-1-prod {literal}"])
        #expect(result.taskStates["plain"]?.kind == .success)
        #expect(result.taskStates["plain"]?.result == .null)
    }

    @Test func anArgumentComesBeforeAContextFieldOrParameterOfTheSameName() throws {
        let (result, _) = try runFlow("""
            local named = task("named", { task_run_name = "{today}" }, function(today) return dk.context.task_run_name end)
            local use = task("use", function(today) end)
            return Flow("names", function() use(Parameter("today", { default = "param" })); named("argument") end)
            """)
        #expect(result.taskStates["named"]?.result == "argument")
    }

    @Test(arguments: executors)
    func anUnknownFieldFailsTheTask(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local named = task("named", { task_run_name = "run-{nope}" }, function(x) print("ran") end)
            return Flow("names", function() named(1) end)
            """, executor: executor)
        #expect(result.taskStates["named"] == TaskState(.failed, message: "task_run_name \"run-{nope}\": no argument, context field or parameter 'nope'"))
        #expect(log.logs.isEmpty)
    }

    /// In Prefect 1 a template that cannot be formatted fails the run outright ("Unexpected
    /// error while running task"), before the attempt, so nothing retries it.
    @Test func anUnknownFieldIsNotRetried() throws {
        let (result, log) = try runFlow("""
            local named = task("named", { task_run_name = "run-{nope}", max_retries = 2 }, function(x) end)
            return Flow("names", function() named(1) end)
            """)
        #expect(result.taskStates["named"]?.kind == .failed)
        #expect(!log.states(of: "named").contains(.retrying), "\(log.states(of: "named"))")
    }

    @Test func theTemplateMustBeAString() throws {
        #expect(try ScriptDirectory("local t = task('t', { task_run_name = 3 }, function() end)").loadError()
                == "flow.lua:1: bad argument #2 to 'task' (field 'task_run_name': string expected, got number)")
    }
}

@Suite struct ContextFieldTests {
    static let script = """
        local FIELDS = { "flow", "flow_name", "flow_run_id", "flow_run_name", "scheduled_start_time", "date",
          "today", "yesterday", "tomorrow", "today_nodash", "yesterday_nodash", "tomorrow_nodash",
          "task", "task_name", "task_full_name", "task_slug", "task_tags", "task_run_id", "task_run_count",
          "attempt", "map_index", "loop_count", "task_loop_count", "loop_result", "task_run_name", "parameters" }
        local show = task("show", { tags = { "io", "db" }, max_retries = 1 }, function(x)
          if x == "retried" and dk.context.task_run_count == 1 then error("once more") end
          local out = {}
          for _, k in ipairs(FIELDS) do out[k] = dk.context[k] end
          return out
        end)
        return Flow("ctx", function()
          show:map({ "a", "b" })
          show("retried")
          local use = task("use", function(n) end)
          use(Parameter("n", { default = 7 }))
        end)
        """

    @Test(arguments: executors)
    func contextHoldsPrefectsFields(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow(Self.script, executor: executor)
        let children = try #require(result.taskStates["show"]?.result.arrayValue)
        let single = try #require(result.taskStates["show-2"]?.result)
        let runs = children + [single]
        #expect(runs.count == 3)

        // The run's fields: the same for every task, on every thread.
        let runID = try #require(runs[0]["flow_run_id"]?.stringValue)
        #expect(runID.wholeMatch(of: #/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#) != nil, "\(runID)")
        let start = try #require(runs[0]["scheduled_start_time"]?.stringValue)
        #expect(start.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/#) != nil, "\(start)")
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let today = try #require(formatter.date(from: String(start.prefix(10))))
        let days = [-1, 0, 1].map { Value.text(formatter.string(from: today.addingTimeInterval(Double($0) * 86_400))) }
        for run in runs {
            #expect(run["flow"] == "ctx" && run["flow_name"] == "ctx")
            #expect(run["flow_run_id"] == .text(runID) && run["flow_run_name"] == .text(runID))
            #expect(run["scheduled_start_time"] == .text(start) && run["date"] == .text(start))
            #expect([run["yesterday"], run["today"], run["tomorrow"]] == days)
            for name in ["today", "yesterday", "tomorrow"] {
                #expect(run[name + "_nodash"] == .text(run[name]!.stringValue!.replacingOccurrences(of: "-", with: "")))
            }
            #expect(run["parameters"] == ["n": 7])
            #expect(run["task"] == "show" && run["task_name"] == "show")
            #expect(run["task_tags"] == ["io", "db"])
            #expect(run["loop_count"] == 1 && run["task_loop_count"] == 1 && run["loop_result"] == nil)
            #expect(run["task_run_name"] == nil)
        }

        // The task run's own fields.
        for (i, child) in children.enumerated() {
            #expect(child["task_slug"] == "show")
            #expect(child["task_full_name"] == .text("show[\(i)]"))
            #expect(child["map_index"] == .int(Int64(i)))
            #expect(child["task_run_id"] == .text("\(runID)/show[\(i)]"))
            #expect(child["task_run_count"] == 1 && child["attempt"] == 1)
        }
        #expect(single["task_slug"] == "show-2" && single["task_full_name"] == "show" && single["map_index"] == nil)
        #expect(single["task_run_id"] == .text("\(runID)/show-2"))
        #expect(single["task_run_count"] == 2 && single["attempt"] == 2)
    }

    @Test func eachRunHasItsOwnID() throws {
        let dir = try ScriptDirectory(Self.script)
        let (host, spec) = try dir.load()
        func runID() throws -> Value? {
            try host.execution(of: spec, parameters: [:], executor: .local, observer: nil).run().taskStates["show-2"]?.result["flow_run_id"]
        }
        #expect(try runID() != runID())
    }

    @Test func contextIsReadOnly() throws {
        let (result, _) = try runFlow("""
            local t = task("t", function() dk.context.task_name = "other" end)
            return Flow("ro", function() t() end)
            """)
        #expect(result.taskStates["t"]?.message?.hasSuffix("flow.lua:1: dk.context is read-only") == true)
    }
}

@Suite struct StateHandlerTests {
    /// Logs every change a handler sees, as "Old -> New".
    static let trace = """
        local function trace(obj, old, new)
          dk.log("%s: %s -> %s%s", obj.name, old.state, new.state, new.message and (" (" .. new.message .. ")") or "")
        end
        local function on_failure(obj, state) dk.log("on_failure %s %s", obj.name, state.state) end

        """

    @Test(arguments: executors)
    func handlersSeeEveryChangeOfARunningTask(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow(Self.trace + """
            local ok = task("ok", { state_handlers = { trace }, on_failure = on_failure }, function() return 1 end)
            local boom = task("boom", { state_handlers = { trace }, on_failure = on_failure, max_retries = 1 },
                              function() error("boom", 0) end)
            return Flow("handlers", function() ok(); boom() end)
            """, executor: executor)
        #expect(result.taskStates["ok"]?.result == 1)
        #expect(logs(of: "ok", log) == ["ok: Pending -> Running", "ok: Running -> Success"])
        // on_failure comes after the handlers, with each failed state (as in Prefect, each failed attempt).
        let boom = logs(of: "boom", log)
        #expect(boom.prefix(3) == ["boom: Pending -> Running", "boom: Running -> Failed (boom)", "on_failure boom Failed"])
        #expect(boom.filter { $0.hasPrefix("on_failure") } == ["on_failure boom Failed", "on_failure boom Failed"])
        #expect(log.states(of: "boom") == [.running, .retrying, .running, .failed])
    }

    @Test(arguments: executors)
    func aReturnedStateIsTheNewStateAndNilKeepsIt(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow(Self.trace + """
            local function recover(t, old, new)
              if new.state == "Failed" then return { state = "Success", message = "recovered", result = "first" } end
            end
            local function refine(t, old, new)
              if new.result == "first" then return { state = "Success", message = new.message, result = "second" } end
            end
            local broken = task("broken", { state_handlers = { recover, refine, trace }, on_failure = on_failure },
                                function() error("boom") end)
            local kept = task("kept", { state_handlers = { trace } }, function() error("kept failing", 0) end)
            local after = task("after", function(x) return x .. "!" end)
            return Flow("handlers", function() after(broken()); kept() end)
            """, executor: executor)
        #expect(result.taskStates["broken"] == TaskState(.success, message: "recovered", result: "second"))
        #expect(logs(of: "broken", log) == ["broken: Pending -> Running", "broken: Running -> Success (recovered)"])
        #expect(result.taskStates["after"]?.result == "second!")
        #expect(result.taskStates["kept"] == TaskState(.failed, message: "kept failing"))
        #expect(result.state == TaskState(.failed, message: "Some reference tasks failed: kept"))
    }

    @Test(arguments: executors)
    func aSignalInAHandlerIsTheNewState(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local function skip_failures(t, old, new) if new.state == "Failed" then dk.skip("skipped by the handler") end end
            local function hold(t, old, new) if new.state == "Running" then dk.pause("held by the handler") end end
            local broken = task("broken", { state_handlers = { skip_failures } }, function() error("boom") end)
            local after = task("after", function(x) return "ran" end)
            local held = task("held", { state_handlers = { hold } }, function() print("ran") end)
            return Flow("signals", function() after(broken()); held() end)
            """, executor: executor)
        #expect(result.taskStates["broken"] == TaskState(.skipped, message: "skipped by the handler"))
        #expect(result.taskStates["after"]?.kind == .skipped)
        // A handler that pauses on Running stops the task before it runs.
        #expect(result.taskStates["held"] == TaskState(.paused, message: "held by the handler"))
        #expect(result.state.kind == .paused)
    }

    @Test(arguments: executors)
    func handlersSettleStatesReachedWithoutRunning(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow(Self.trace + """
            local function excuse(t, old, new)
              if new.state == "TriggerFailed" then return { state = "Success", message = "excused", result = "default" } end
            end
            local boom = task("boom", function() error("boom") end)
            local after = task("after", { state_handlers = { trace }, on_failure = on_failure }, function(x) end)
            local excused = task("excused", { state_handlers = { excuse } }, function(x) end)
            local gate = task("gate", { state_handlers = { trace }, trigger = dk.triggers.manual_only }, function() end)
            local maybe = task("maybe", function() dk.skip("nothing to do") end)
            local skipped = task("skipped", { state_handlers = { trace } }, function(x) end)
            return Flow("settle", function()
              local b = boom()
              after(b)
              excused(b)
              gate()
              skipped(maybe())
            end)
            """, executor: executor)
        #expect(logs(of: "after", log) == [
            "after: Pending -> TriggerFailed (Trigger was \"all_successful\" but some of the upstream tasks failed)",
            "on_failure after TriggerFailed",
        ])
        #expect(result.taskStates["excused"] == TaskState(.success, message: "excused", result: "default"))
        #expect(logs(of: "gate", log) == ["gate: Pending -> Paused (Trigger function is \"manual_only\")"])
        #expect(logs(of: "skipped", log) == ["skipped: Pending -> Skipped (Upstream task was skipped)"])
        #expect(log.states(of: "after") == [.triggerFailed])
    }

    /// Prefect 1 calls handlers on a change of state; a task held behind a paused one stays
    /// Pending, so its handlers are not called.
    @Test(arguments: executors)
    func aTaskHeldBehindAPauseCallsNoHandler(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow(Self.trace + """
            local wait_here = task("wait_here", function() dk.pause() end)
            local held = task("held", { state_handlers = { trace } }, function(x) end)
            return Flow("held", function() held(wait_here()) end)
            """, executor: executor)
        #expect(result.taskStates["held"]?.kind == .pending)
        #expect(log.logs.isEmpty, "\(log.logs)")
    }

    @Test(arguments: executors)
    func aMappedTasksChildrenEachCallTheHandlers(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow(Self.trace + """
            local function zero_on_failure(t, old, new)
              if new.state == "Failed" then return { state = "Success", message = "replaced", result = 0 } end
            end
            local picky = task("picky", { state_handlers = { zero_on_failure, trace } }, function(x)
              if x == 2 then error("no twos") end
              return 10 * x
            end)
            local total = task("total", function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end return s end)
            return Flow("handler-mapped", function() total(picky:map({ 1, 2, 3 })) end)
            """, executor: executor)
        #expect(result.taskStates["picky"]?.result == [10, 0, 30])
        #expect(result.taskStates["total"]?.result == 40)
        for i in 0 ..< 3 {
            #expect(logs(of: "picky[\(i)]", log).first == "picky: Pending -> Running")
        }
    }

    /// A handler belongs to its task: print is a log line of the task, as in the task's
    /// function, and dk.context describes the task run (Prefect calls handlers in the task
    /// run's context).
    @Test func aHandlerRunsInItsTasksContext() throws {
        let (_, log) = try runFlow("""
            local function h(t, old, new) if new.state == "Success" then print(dk.context.task_full_name) end end
            local t = task("t", { state_handlers = { h } }, function(x) return x end)
            return Flow("handler-context", function() t:map({ 1 }) end)
            """)
        #expect(log.logs == ["t[0]: t[0]"])
    }

    @Test(arguments: executors)
    func aFailingHandlerFailsItsTask(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local function oops(t, old, new) if new.state == "Success" then error("oops") end end
            local function garbage(t, old, new) return 42 end
            local function unknown(t, old, new) return { state = "Done" } end
            local guarded = task("guarded", { state_handlers = { oops } }, function() print("ran") return 1 end)
            local g = task("g", { state_handlers = { garbage } }, function() print("ran") end)
            local u = task("u", { state_handlers = { unknown } }, function() print("ran") end)
            local after = task("after", function(x) return x end)
            return Flow("handler-raises", function() after(guarded()); g(); u() end)
            """, executor: executor)
        #expect(result.taskStates["guarded"]?.kind == .failed)
        #expect(message(result.taskStates["guarded"]) == "Exception raised while calling state handlers: flow.lua:1: oops")
        #expect(logs(of: "guarded", log) == ["ran"])
        #expect(result.taskStates["after"]?.kind == .triggerFailed)
        // A handler that returns something else than a state or nil: its definition is named.
        #expect(message(result.taskStates["g"]) == "Exception raised while calling state handlers: flow.lua:2: "
            + "a state handler of Task<g> returned a number, not a state ({ state = \"Success\", message = ..., result = ... }) or nil")
        #expect(message(result.taskStates["u"]) == "Exception raised while calling state handlers: flow.lua:3: "
            + "a state handler of Task<u> returned a table without a known state name, not a state ({ state = \"Success\", message = ..., result = ... }) or nil")
        // Already on Pending -> Running: the task does not run.
        #expect(logs(of: "g", log).isEmpty && logs(of: "u", log).isEmpty)
    }

    /// In Prefect 1 an error in a state handler ends the task run (ENDRUN(Failed)): it is
    /// not retried, so the task's work is not done again.
    @Test func aFailingHandlerIsNotRetried() throws {
        let (result, log) = try runFlow("""
            local function oops(t, old, new) if new.state == "Success" then error("oops") end end
            local guarded = task("guarded", { state_handlers = { oops }, max_retries = 2 }, function() print("ran") return 1 end)
            return Flow("handler-raises", function() guarded() end)
            """)
        #expect(result.taskStates["guarded"]?.kind == .failed)
        #expect(logs(of: "guarded", log) == ["ran"])
    }

    @Test(arguments: [
        ("task('t', { state_handlers = function() end }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'state_handlers': list of functions expected, got function)"),
        ("task('t', { state_handlers = { function() end, 'log' } }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'state_handlers': list of functions expected, got table)"),
        ("task('t', { state_handlers = { before = print } }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'state_handlers': list of functions expected, got table)"),
        ("task('t', { on_failure = { print } }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'on_failure': function expected, got table)"),
        ("Flow('f', { state_handlers = { print, 3 } })",
         "flow.lua:1: bad argument #2 to 'Flow' (field 'state_handlers': list of functions expected, got table)"),
        ("Flow('f', { on_failure = 'print' })",
         "flow.lua:1: bad argument #2 to 'Flow' (field 'on_failure': function expected, got string)"),
    ])
    func handlersMustBeFunctions(expression: String, message: String) throws {
        #expect(try ScriptDirectory("local x = " + expression).loadError() == message)
    }
}

@Suite struct FlowStateHandlerTests {
    @Test(arguments: executors)
    func flowHandlersAreCalledOnceWithTheFinalState(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local function forgive(flow, old, new)
              dk.log("%s: %s -> %s", flow.name, old.state, new.state)
              if new.state == "Failed" then return { state = "Success", message = "forgiven" } end
            end
            local function on_failure(flow, state) dk.log("on_failure %s", state.state) end
            local broken = task("broken", function() error("boom") end)
            local fine = task("fine", function() return "fine" end)
            return Flow("forgiving", { state_handlers = { forgive }, on_failure = on_failure }, function() broken(); fine() end)
            """, executor: executor)
        #expect(result.state == TaskState(.success, message: "forgiven"))
        #expect(result.taskStates["broken"]?.kind == .failed)
        #expect(log.logs == ["-: forgiving: Running -> Failed"])
        // The run reports its end once, in the state the handlers left.
        let ends = log.events.compactMap { if case let .flowFinished(_, state, _, _, _) = $0 { return state } else { return nil } }
        #expect(ends == [TaskState(.success, message: "forgiven")])
    }

    @Test(arguments: [
        ("function(flow, old, new) dk.pause('approve the release') end", TaskState(.paused, message: "approve the release"), DKCore.ExitStatus.paused),
        ("function(flow, old, new) dk.skip('nothing today') end", TaskState(.skipped, message: "nothing today"), .success),
        ("function(flow, old, new) error('oops', 0) end",
         TaskState(.failed, message: "Exception raised while calling state handlers: oops"), .failure),
        ("function(flow, old, new) return { state = 'Failed', message = 'vetoed' } end", TaskState(.failed, message: "vetoed"), .failure),
    ])
    func aFlowHandlerDecidesTheFlowsStateAndExitCode(handler: String, state: TaskState, exit: DKCore.ExitStatus) throws {
        let (result, _) = try runFlow("""
            local fine = task("fine", function() return "fine" end)
            return Flow("decided", { state_handlers = { \(handler) } }, function() fine() end)
            """)
        #expect(result.state == state)
        #expect(DKCore.ExitStatus(flowState: result.state) == exit)
        #expect(result.taskStates["fine"]?.kind == .success)
    }

    @Test func flowOnFailureIsCalledWithTheFailedStateOnly() throws {
        let script = """
            local function noted(flow, state) dk.log("on_failure %s %s: %s", flow.name, state.state, state.message) end
            local t = task("t", function(fail) if fail then error("boom") end end)
            return Flow("noted", { on_failure = noted }, function() t(Parameter("fail", { default = false })) end)
            """
        let (failed, failedLog) = try runFlow(script, parameters: ["fail": true])
        #expect(failed.state.kind == .failed)
        #expect(failedLog.logs == ["-: on_failure noted Failed: Some reference tasks failed: t"])
        let (succeeded, succeededLog) = try runFlow(script)
        #expect(succeeded.state.kind == .success)
        #expect(succeededLog.logs.isEmpty)
    }
}

/// A mapped task counts as its children where Prefect 1 looks at upstream states: triggers,
/// skips, the flow's state, and the run's counts.
@Suite struct MappedChildrenTests {
    @Test(arguments: executors)
    func triggersSeeTheChildren(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local check = task("check", function(x) if x == 2 then error("two") end return x end)
            local total = task("total", function(xs) return "ran" end)
            local finished = task("finished", { trigger = dk.triggers.all_finished }, function(xs) return "ran" end)
            local any_failed = task("any_failed", { trigger = dk.triggers.any_failed }, function(xs) return "ran" end)
            local all_failed = task("all_failed", { trigger = dk.triggers.all_failed }, function(xs) return "ran" end)
            local two_ok = task("two_ok", { trigger = dk.triggers.some_successful { at_least = 2 } }, function(xs) return "ran" end)
            return Flow("triggers", function()
              local c = check:map({ 1, 2, 3 })
              total(c); finished(c); any_failed(c); all_failed(c); two_ok(c)
            end)
            """, executor: executor)
        #expect(result.taskStates["check"]?.kind == .mapped)
        #expect(result.taskStates["total"] == TaskState(.triggerFailed, message: "Trigger was \"all_successful\" but some of the upstream tasks failed"))
        #expect(result.taskStates["finished"]?.result == "ran")
        #expect(result.taskStates["any_failed"]?.result == "ran")
        #expect(result.taskStates["all_failed"]?.kind == .triggerFailed)
        #expect(result.taskStates["two_ok"]?.result == "ran")
    }

    @Test(arguments: executors)
    func aSkippedChildSkipsTheTasksAfterTheMappedTask(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local maybe = task("maybe", function(x) if x == 2 then dk.skip("not two") end return x end)
            local total = task("total", function(xs) return "ran" end)
            local regardless = task("regardless", { skip_on_upstream_skip = false }, function(xs) return { xs[1], xs[2] == nil, xs[3] } end)
            return Flow("skips", function() local m = maybe:map({ 1, 2, 3 }); total(m); regardless(m) end)
            """, executor: executor)
        #expect(result.taskStates["total"] == TaskState(.skipped, message: "Upstream task was skipped"))
        #expect(result.taskStates["regardless"]?.result == [1, true, 3])
        #expect(result.state.kind == .success)
    }

    @Test(arguments: executors)
    func aFailedChildFailsTheFlowAndTheCountsHoldEveryChild(executor: ExecutorChoice) throws {
        let (result, log) = try runFlow("""
            local numbers = task("numbers", function() return { 1, 2, 3 } end)
            local check = task("check", function(x) if x == 2 then error("two") end return x end)
            return Flow("children", function() check:map(numbers()) end)
            """, executor: executor)
        #expect(result.taskStates["check"]?.kind == .mapped)
        #expect(result.state == TaskState(.failed, message: "Some reference tasks failed: check"))
        #expect(counts(log) == [.success: 3, .failed: 1, .mapped: 1])
    }

    @Test(arguments: executors)
    func theShortestMappedArgumentDecidesTheWidth(executor: ExecutorChoice) throws {
        let (result, _) = try runFlow("""
            local numbers = task("numbers", function() return { 1, 2, 3, 4 } end)
            local add = task("add", function(x, y) return x + y end)
            return Flow("width", function()
              add:map({ 1, 2, 3 }, { 10, 20 })
              add:map(numbers(), { 100, 200, 300 })
              add:map({}, numbers())
            end)
            """, executor: executor)
        #expect(result.taskStates["add"]?.result == [11, 22])
        #expect(result.taskStates["add-2"]?.result == [101, 202, 303])
        #expect(result.taskStates["add-3"] == TaskState(.mapped, message: "Mapped over no items", result: []))
    }

    @Test func aFailedUpstreamIsNotMappedOverButFailsEachChild() throws {
        let (result, _) = try runFlow("""
            local broken = task("broken", function() error("no list today") end)
            local add = task("add", function(x, y) return x + y end)
            return Flow("width", function() add:map({ 1, 2 }, broken()) end)
            """)
        let add = try #require(result.taskStates["add"])
        #expect(add.children.map(\.kind) == [.triggerFailed, .triggerFailed])
    }
}
