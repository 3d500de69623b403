import DKCore
@testable import DKLua
import Testing

/// dk.case, dk.merge, dk.ifelse and dk.switch build and run what Prefect 1's control flow
/// does (ported from its tests/tasks/test_control_flow.py, and compared with Prefect 1.4.1).
@Suite struct ControlFlowTests {
    /// Each task's final state, with the result when it succeeded: "Success 2", "Skipped".
    func outcomes(_ result: FlowRunResult) -> [String: String] {
        result.taskStates.mapValues { $0.kind == .success ? "Success \(JSON.encode($0.result))" : $0.kind.rawValue }
    }

    static let identityAndInc = """
        local identity = task("identity", function(x) return x end)
        local inc = task("inc", function(x) return x + 1 end)
        """

    @Test(arguments: [true, false])
    func aCaseRunsItsTasksOnlyWhenTheConditionMatches(condition: Bool) throws {
        let (result, _) = try runFlow(Self.identityAndInc + """

            return Flow("c", function()
              local cond = identity(\(condition))
              local b = dk.case(cond, true, function() local b = inc(identity(1)) return b end)
              local d = dk.case(cond, false, function() local d = inc(identity(3)) return d end)
              dk.merge(b, d)
            end)
            """)
        let branches: [String: String] = condition
            ? ["identity-2": "Success 1", "inc": "Success 2", "case(True)": "Success null",
               "identity-3": "Skipped", "inc-2": "Skipped", "case(False)": "Skipped", "Merge": "Success 2"]
            : ["identity-2": "Skipped", "inc": "Skipped", "case(True)": "Skipped",
               "identity-3": "Success 3", "inc-2": "Success 4", "case(False)": "Success null", "Merge": "Success 4"]
        #expect(outcomes(result) == branches.merging(["identity": "Success \(condition)"]) { $1 })
        let unmatched = try #require(result.taskStates[condition ? "case(False)" : "case(True)"])
        #expect(unmatched.message == (condition ? "Provided value \"True\" did not match \"False\""
                                                : "Provided value \"False\" did not match \"True\""))
        #expect(result.state.kind == .success)
    }

    @Test func aCaseHangsTheTasksWithoutUpstreamInItFromItsComparison() throws {
        let (_, spec) = try ScriptDirectory(Self.identityAndInc + """

            local add = task("add", function(x, y) return x + y end)
            return Flow("c", function()
              local a = identity(0)
              dk.case(identity(true), true, function()
                local b = inc(a)
                local c = inc(b)
                local d = identity(1)
                local e = inc(d)
                inc(e)
                add(Parameter("p", { default = 1 }), 2)
              end)
            end)
            """).load()
        // As in Prefect's test_case_upstream_tasks: b after the comparison and a, c after b,
        // d after the comparison, e after d, f after e; the parameter stays a root.
        #expect(Set(edges(spec)) == [
            "identity->inc:x", "inc->inc-2:x", "identity-3->inc-3:x", "inc-3->inc-4:x", "p->add:x",
            "identity-2->case(True):value", "case(True)->inc", "case(True)->identity-3", "case(True)->add",
        ])
    }

    @Test(arguments: [(true, true), (true, false), (false, true), (false, false)])
    func casesNest(outer: Bool, inner: Bool) throws {
        // Prefect's test_nested_case_execution, on threads.
        let (result, _) = try runFlow(Self.identityAndInc + """

            return Flow("nested", function()
              local cond1 = identity(\(outer))
              local a = identity(0)
              local g = dk.case(cond1, true, function()
                local cond2 = identity(\(inner))
                local b = identity(10)
                local d = dk.case(cond2, true, function() local d = inc(inc(a)) return d end)
                local f = dk.case(cond2, false, function() local f = inc(inc(b)) return f end)
                local g = dk.merge(d, f)
                return g
              end)
              local i = dk.case(cond1, false, function() local i = inc(identity(3)) return i end)
              dk.merge(g, i)
            end)
            """, executor: .threads(2))
        let slugs = ["cond1": "identity", "a": "identity-2", "cond2": "identity-3", "b": "identity-4", "c": "inc",
                     "d": "inc-2", "e": "inc-3", "f": "inc-4", "g": "Merge", "h": "identity-5", "i": "inc-5", "j": "Merge-2"]
        var expected: [String: Value] = ["cond1": .bool(outer), "a": 0]
        if outer {
            expected["cond2"] = .bool(inner)
            expected["b"] = 10
            if inner {
                expected.merge(["c": 1, "d": 2, "g": 2, "j": 2]) { $1 }
            } else {
                expected.merge(["e": 11, "f": 12, "g": 12, "j": 12]) { $1 }
            }
        } else {
            expected.merge(["h": 3, "i": 4, "j": 4]) { $1 }
        }
        for (name, slug) in slugs {
            let state = try #require(result.taskStates[slug])
            if let value = expected[name] {
                #expect(state.kind == .success && state.result == value, "\(name) (\(slug)): \(state)")
            } else {
                #expect(state.kind == .skipped, "\(name) (\(slug)): \(state)")
            }
        }
    }

    @Test(arguments: [true, false])
    func aMappedTaskInACaseIsSkippedWholeWhenItDoesNotMatch(condition: Bool) throws {
        let (result, _) = try runFlow("""
            local cond = task("cond", function() return \(condition) end)
            local numbers = task("numbers", function() return { 1, 2, 3 } end)
            local double = task("double", function(x) return 2 * x end)
            local total = task("total", function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end return s end)
            return Flow("m", function()
              local n = numbers()
              dk.case(cond(), true, function()
                total(double:map(n))
              end)
            end)
            """)
        let double = try #require(result.taskStates["double"])
        if condition {
            #expect(double.kind == .mapped)
            #expect(double.children.map(\.kind) == [.success, .success, .success])
            #expect(result.taskStates["total"]?.result == 12)
        } else {
            #expect(double.kind == .skipped)
            #expect(double.children.isEmpty)
            #expect(result.taskStates["total"]?.kind == .skipped)
        }
    }

    @Test func mergeTakesTheFirstResultThatIsNotNilInPrefectsOrder() throws {
        let (result, _) = try runFlow("""
            local condition = task("condition", function() return true end)
            local true_branch = task("true_branch", function() return nil end)
            local false_branch = task("false_branch", function() return 0 end)
            local skip_task = task("skip_task", function() dk.skip("not today") end)
            local value = task("value", function(x) return x end)
            local nothing = task("nothing", function() end)
            return Flow("m", function()
              dk.ifelse(condition(), true_branch, false_branch)
              dk.merge(true_branch, false_branch, { name = "ran_with_nil" })
              dk.merge(skip_task(), skip_task(), { name = "all_skipped" })
              local inputs = { nothing() }
              for i = 2, 11 do inputs[i] = value(i) end
              dk.merge(table.unpack(inputs))
            end)
            """)
        // A branch that ran and returned nil is not one that did not run.
        #expect(result.taskStates["ran_with_nil"]?.kind == .success)
        #expect(result.taskStates["ran_with_nil"]?.result == .null)
        #expect(result.taskStates["all_skipped"]?.kind == .skipped)
        // Inputs are task_1, task_2, ... looked at sorted by name: task_10 before task_2.
        #expect(result.taskStates["Merge"]?.result == 10)
        #expect(result.state.kind == .success)
    }

    @Test(arguments: [
        ("true", true), ("1", true), ("'False'", true), ("{ 1 }", true), ("{ a = 1 }", true), ("0/0", true),
        ("false", false), ("nil", false), ("0", false), ("0.0", false), ("''", false), ("{}", false),
    ])
    func ifelseBranchesOnPythonsTruth(condition: String, truthy: Bool) throws {
        let (result, _) = try runFlow("""
            local condition = task("condition", function() return \(condition) end)
            local yes = task("yes", function() return "yes" end)
            local no = task("no", function() return "no" end)
            local after = task("after", function(x) return x end)
            return Flow("i", function()
              dk.ifelse(condition(), yes, no)
              after(dk.merge(yes, no))
            end)
            """)
        let states = outcomes(result)
        #expect(states["as_bool"] == "Success \(truthy)")
        #expect(states["yes"] == (truthy ? "Success \"yes\"" : "Skipped"))
        #expect(states["no"] == (truthy ? "Skipped" : "Success \"no\""))
        #expect(states["CompareValue: \"True\""] == (truthy ? "Success null" : "Skipped"))
        #expect(states["CompareValue: \"False\""] == (truthy ? "Skipped" : "Success null"))
        #expect(states["after"] == (truthy ? "Success \"yes\"" : "Success \"no\""))
    }

    @Test(arguments: ["a", "b", "c", "x"])
    func switchRunsTheBranchOfTheValue(value: String) throws {
        let (result, _) = try runFlow("""
            local condition = task("condition", function() return "\(value)" end)
            local a = task("a", function() return "A" end)
            local b = task("b", function() return "B" end)
            local c = task("c", function() return "C" end)
            return Flow("s", function()
              dk.switch(condition(), { a = a, b = b, c = c })
              dk.merge(a, b, c)
            end)
            """)
        let states = outcomes(result)
        for branch in ["a", "b", "c"] {
            #expect(states[branch] == (branch == value ? "Success \"\(branch.uppercased())\"" : "Skipped"))
            #expect(states["CompareValue: \"\(branch)\""] == (branch == value ? "Success null" : "Skipped"))
        }
        #expect(states["Merge"] == (value == "x" ? "Skipped" : "Success \"\(value.uppercased())\""))
        #expect(result.state.kind == .success)
    }

    @Test func mappedIfelseAndSwitchChooseABranchPerChild() throws {
        let (result, _) = try runFlow("""
            local values = task("values", function() return { 0, 5, "", "x" } end)
            local kinds = task("kinds", function() return { "a", "b", "z" } end)
            local yes = task("yes", function() return "yes" end)
            local no = task("no", function() return "no" end)
            local a = task("a", function() return "A" end)
            local b = task("b", function() return "B" end)
            return Flow("m", function()
              dk.ifelse(values(), yes, no, { mapped = true })
              dk.merge(yes, no, { mapped = true })
              dk.switch(kinds(), { a = a, b = b }, { mapped = true })
            end)
            """)
        #expect(result.taskStates["yes"]?.children.map(\.kind) == [.skipped, .success, .skipped, .success])
        #expect(result.taskStates["no"]?.children.map(\.kind) == [.success, .skipped, .success, .skipped])
        #expect(result.taskStates["Merge"]?.result == ["no", "yes", "no", "yes"])
        #expect(result.taskStates["a"]?.children.map(\.kind) == [.success, .skipped, .skipped])
        #expect(result.taskStates["b"]?.children.map(\.kind) == [.skipped, .success, .skipped])
    }

    @Test func aCaseGatesTasksBoundImperatively() throws {
        // Prefect's test_case_imperative_api: no flow body, tasks bound with flow = f.
        let (result, _) = try runFlow("""
            local cond = task("cond", function() return "b" end)
            local a = task("a", function(x) return x end)
            local b = task("b", function(x) return x + 1 end)
            local c = task("c", function(x) return x end)
            local d = task("d", function(x) return x + 1 end)
            local flow = Flow { name = "imperative" }
            flow:add_task(cond)
            dk.case(cond, "a", function() a:bind { 1, flow = flow }; b:bind { a, flow = flow } end)
            dk.case(cond, "b", function() c:bind { 3, flow = flow }; d:bind { c, flow = flow } end)
            return flow
            """)
        #expect(outcomes(result) == [
            "cond": "Success \"b\"", "case(a)": "Skipped", "a": "Skipped", "b": "Skipped",
            "case(b)": "Success null", "c": "Success 3", "d": "Success 4",
        ])
    }

    @Test func valuesCompareByContentAndNameTasksAsPythonsStrDoes() throws {
        let script = """
            local pair = task("pair", function() return { 1, "a", true } end)
            local t = task("t", function() return "ran" end)
            return Flow("n", function()
              local p = pair()
              for _, v in ipairs { 1.0, 1e16, "it's", { 1, "a", true }, { a = 1, b = { 2 } }, {} } do
                dk.case(p, v, function() t() end)
              end
              dk.switch(p, { [false] = t, [true] = t })
            end)
            """
        let dir = try ScriptDirectory(script)
        let (_, spec) = try dir.load()
        #expect(spec.tasks.map(\.name).filter { $0 != "t" } == [
            "pair", "case(1.0)", "case(1e+16)", "case(it's)", "case([1, 'a', True])", "case({'a': 1, 'b': [2]})",
            "case([])", "CompareValue: \"False\"", "CompareValue: \"True\"",
        ])
        #expect(spec.tasks.filter { $0.name.hasPrefix("CompareValue") }.map(\.tags) == [["switch"], ["switch"]])
        let (result, _) = try runFlow(script)
        #expect(result.taskStates["t-4"]?.result == "ran")  // the case of { 1, "a", true }
        #expect(result.taskStates.filter { $0.key.hasPrefix("t") && $0.value.kind == .success }.count == 1)
    }

    @Test(arguments: [
        ("local c = task('c', function() end)\ndk.case(c, 1, function() end)",
         "flow.lua:2: dk.case was called outside a flow and its function added no task to one: call it inside Flow(name, function() ... end), or bind tasks with flow = f in it"),
        ("return Flow('x', function()\n  dk.case(c(), 1, 'body')\nend)",
         "flow.lua:2: bad argument #3 to 'case' (function expected, got string)"),
        ("return Flow('x', function()\n  dk.case(1, 1, function() end)\nend)",
         "flow.lua:2: bad argument #1 to 'case' (task expected, got number)"),
        ("return Flow('x', function()\n  dk.case(c(), c(), function() end)\nend)",
         "flow.lua:2: bad argument #2 to 'case' (the value cannot be a task)"),
        ("local f, g = Flow('f'), Flow('g')\ndk.case(c, 1, function()\n  c:bind { flow = f }\n  t:bind { flow = g }\nend)",
         "flow.lua:2: dk.case: its function added tasks to flow 'f' and flow 'g'; one case gates the tasks of one flow"),
        ("dk.ifelse(c, t)", "flow.lua:1: dk.ifelse was called outside a flow: call it inside Flow(name, function() ... end)"),
        ("return Flow('x', function()\n  dk.ifelse(c(), t, 'no')\nend)",
         "flow.lua:2: bad argument #3 to 'ifelse' (task or nil expected, got string)"),
        ("return Flow('x', function()\n  dk.ifelse(c(), t, nil, { mapd = true })\nend)",
         "flow.lua:2: bad argument #4 to 'ifelse' (unknown field 'mapd'; known fields: mapped)"),
        ("return Flow('x', function()\n  dk.switch(c(), t)\nend)",
         "flow.lua:2: bad argument #2 to 'switch' (table of value = task expected, got task)"),
        ("return Flow('x', function()\n  dk.switch(c(), { a = t, b = 'x' })\nend)",
         "flow.lua:2: bad argument #2 to 'switch' (task expected at [\"b\"], got string)"),
        ("return Flow('x', function()\n  dk.merge()\nend)", "flow.lua:2: bad argument #1 to 'merge' (task expected, got no value)"),
        ("return Flow('x', function()\n  dk.merge(t, 2)\nend)", "flow.lua:2: bad argument #2 to 'merge' (task expected, got number)"),
        ("return Flow('x', function()\n  dk.merge(t, { nme = 'm' })\nend)",
         "flow.lua:2: bad argument #2 to 'merge' (unknown field 'nme'; known fields: flow, mapped, name)"),
        ("dk.merge(t)", "flow.lua:1: dk.merge was called outside a flow: call it inside Flow(name, function() ... end)"),
    ])
    func badInputNamesTheLineOfTheCall(script: String, message: String) throws {
        // c and t on the script's first line, so that its line numbers stay as written.
        let dir = try ScriptDirectory("c = task('c', function() return 1 end) t = task('t', function() end) " + script)
        #expect(dir.loadError() == message)
    }
}
