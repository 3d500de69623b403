import DKCore
@testable import DKLua
import Testing

/// The Lua API builds the graphs Prefect 1 users expect.
@Suite struct DSLTests {
    @Test func functionalAPICopiesTasksAndBindsArguments() throws {
        let (_, spec) = try ScriptDirectory("""
            local add = task("add", function(x, y) return x + y end)
            return Flow("f", function()
              local a = add(1, 2)
              local b = add { x = a, y = 10 }
              add(a, b)
            end)
            """).load()
        #expect(spec.tasks.map(\.slug) == ["add", "add-2", "add-3"])
        #expect(edges(spec) == ["add->add-2:x", "add->add-3:x", "add-2->add-3:y"])
        #expect(spec.constants.map { "\($0.task).\($0.key)=\(JSON.encode($0.value))" } == ["add.x=1", "add.y=2", "add-2.y=10"])
        #expect(spec.tasks[0].argumentNames == ["x", "y"])
        #expect(spec.tasks[1].source.description.hasSuffix("flow.lua:4"))
    }

    @Test func imperativeAPIOfTheSeed() throws {
        let (_, spec) = try ScriptDirectory("""
            local get_value = task("get_value", function() return "Example!" end)
            local output_value = task("output_value", function(value) print(value) end)
            local flow = Flow { name = "Min / Max", environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 3 } }
            output_value:set_upstream(get_value, { flow = flow })
            output_value:bind { value = get_value, flow = flow }
            return flow
            """).load()
        #expect(spec.tasks.map(\.slug) == ["get_value", "output_value"])
        #expect(edges(spec) == ["get_value->output_value", "get_value->output_value:value"])
        let env = try #require(spec.configuration["environment"])
        #expect(env["type"] == "DaskKubernetesEnvironment")
        #expect(env["min_workers"] == 1 && env["max_workers"] == 3 && env["work_stealing"] == true)
        #expect(env["private_registry"] == false)
    }

    @Test func setDependenciesAddEdgeAndDownstream() throws {
        let (_, spec) = try ScriptDirectory("""
            local a = task("a", function() return 1 end)
            local b = task("b", function(x) return x end)
            local c = task("c", function() end)
            local d = task("d", function() end)
            local f = Flow("f")
            f:set_dependencies(b, { upstream_tasks = { c }, keyword_tasks = { x = a }, downstream_tasks = { d } })
            f:add_edge(c, d)
            a:set_downstream(d, { flow = f })
            f:set_reference_tasks { b }
            return f
            """).load()
        #expect(edges(spec) == ["b->d", "a->b:x", "c->b", "a->d", "c->d"].sorted { x, y in
            edges(spec).firstIndex(of: x)! < edges(spec).firstIndex(of: y)! })
        #expect(Set(edges(spec)) == ["b->d", "a->b:x", "c->b", "a->d", "c->d"])
        #expect(spec.referenceTasks == ["b"])
    }

    @Test func mappingUnmappedAndNout() throws {
        let (_, spec) = try ScriptDirectory("""
            local pair = task("pair", { nout = 2 }, function() return {1, 2}, {3} end)
            local scale = task("scale", function(x, factor) return x * factor end)
            return Flow("f", function()
              local xs, ys = pair()
              local scaled = scale:map(xs, dk.unmapped(ys))
              scale:map({ 1, 2 }, 3)
            end)
            """).load()
        #expect(edges(spec) == ["pair->scale:factor[2]", "pair->scale:x[1] mapped"])
        #expect(spec.constants.map { "\($0.task).\($0.key)=\(JSON.encode($0.value))\($0.mapped ? " mapped" : "")" }
                == ["scale-2.factor=3 mapped", "scale-2.x=[1,2] mapped"])
        #expect(spec.tasks[0].nout == 2)
    }

    @Test func optionsAndParametersAreDescribed() throws {
        let (_, spec) = try ScriptDirectory("""
            local t = task({ max_retries = 2, retry_delay = 1.5, timeout = 3, tags = { "io" }, checkpoint = false,
                             trigger = dk.triggers.some_failed { at_least = 1 }, skip_on_upstream_skip = false },
                           function(n) return n end)
            return Flow("f", function() t(Parameter("n", { default = 4 })) end)
            """).load()
        let t = try #require(spec.task("flow.lua:3") ?? spec.tasks.first { $0.parameter == nil })
        #expect(t.name.hasSuffix("flow.lua:3"))  // named after where its function is defined
        #expect(t.maxRetries == 2 && t.retryDelay == 1.5 && t.timeout == 3 && t.tags == ["io"] && t.checkpoint == false)
        #expect(t.trigger == .someFailed(atLeast: 1, atMost: nil) && !t.skipOnUpstreamSkip)
        let n = try #require(spec.task("n"))
        #expect(n.parameter == ParameterSpec(defaultValue: 4, required: false))
    }

    @Test func resultOptionsAreDescribed() throws {
        let (_, spec) = try ScriptDirectory("""
            local a = task("a", { target = "{task_name}", cache_for = 60, cache_key = "k",
                                  cache_validator = dk.cache.partial_inputs_only { "n" } }, function(n) return n end)
            local b = task("b", { checkpoint = true, result = dk.results.Local { dir = "/r" } }, function(n) return n end)
            return Flow("f", { result = dk.results.S3 { bucket = "bk", prefix = "p/", endpoint = "http://s3:9000" } },
                        function() b(a(1)) end)
            """).load()
        let s3 = ResultLocation.s3(S3Location(bucket: "bk", prefix: "p/", endpoint: "http://s3:9000"))
        let a = try #require(spec.task("a")), b = try #require(spec.task("b"))
        #expect(a.target == "{task_name}" && a.cacheFor == 60 && a.cacheKey == "k" && a.cacheValidator == .partialInputsOnly(["n"]))
        #expect(a.result == nil && a.resultLocation == s3)
        #expect(b.checkpoint == true && b.resultLocation == .local(dir: "/r"))
        // The description round-trips through its canonical encoding (as a payload carries it).
        #expect(try FlowSpec(description: spec.descriptionValue) == spec)
    }

    /// A task's identity hashes its function's own lines, from the script or the module that
    /// defines it, the same when the flow is rebuilt from its payload.
    @Test func aTasksFunctionTextIsTheLinesThatDefineIt() throws {
        let dir = try ScriptDirectory("""
            local lib = require("lib")
            local a = task("a", function(x)
              return x + 1
            end)
            return Flow("f", function() lib.b(a(1)) end)
            """, files: ["lib.lua": "local M = {}\nM.b = task(\"b\", function(y) return y end)\nreturn M\n"])
        let (host, spec) = try dir.load()
        let invoker = host.makeTaskInvoker()
        let a = try #require(spec.task("a")), b = try #require(spec.task("b"))
        #expect(String(decoding: invoker.functionText(of: a), as: UTF8.self) == "local a = task(\"a\", function(x)\n  return x + 1\nend)")
        #expect(String(decoding: invoker.functionText(of: b), as: UTF8.self) == "M.b = task(\"b\", function(y) return y end)")
        let rebuilt = try LuaHost.rebuild(host.sources.payload(for: spec, parameters: [:])).makeTaskInvoker()
        #expect(rebuilt.functionText(of: a) == invoker.functionText(of: a))
    }

    /// The part of a task's identity its calls share is made once per task, for all its
    /// copies; another task of the same function with other options has its own.
    @Test func copiesOfATaskShareTheirIdentityPart() throws {
        let dir = try ScriptDirectory("""
            local function f(x) return x end
            local a = task("a", f)
            local retried = task("a", { max_retries = 2 }, f)
            return Flow("f", function() a(1); a(2); retried(3) end)
            """)
        let (host, spec) = try dir.load()
        let invoker = host.makeTaskInvoker()
        func identity(_ slug: String) throws -> TaskIdentity {
            TaskIdentity(invoker.identityPart(of: try #require(spec.task(slug))), inputs: ["x": 1])
        }
        func madeAlone(_ slug: String) throws -> TaskIdentity {
            let task = try #require(spec.task(slug))
            return TaskIdentity(task: task, code: invoker.functionText(of: task), inputs: ["x": 1])
        }
        #expect(spec.tasks.map(\.slug) == ["a", "a-2", "a-3"])
        #expect(try identity("a") == madeAlone("a"))
        #expect(try identity("a-2") == identity("a"))
        #expect(try identity("a-3") == madeAlone("a-3"))
        #expect(try identity("a-3") != identity("a"))
    }

    @Test func specFilesAreLoadedIntoTheEnvironment() throws {
        let (host, spec) = try ScriptDirectory("""
            local t = task("t", function() end)
            return Flow("f", { environment = DaskKubernetesEnvironment { worker_spec_file = "spec/worker.yaml",
                                                                         private_registry = true } }, function() t() end)
            """, files: ["spec/worker.yaml": "kind: Pod\nspec:\n  replicas: 2\n"]).load()
        let env = try #require(spec.configuration["environment"])
        #expect(env["worker_spec"]?["spec"]?["replicas"] == 2)
        #expect(env["docker_secret"] == "DOCKER_REGISTRY_CREDENTIALS")
        #expect(host.sources.files.keys.sorted() == ["spec/worker.yaml"])
    }

    @Test func scriptsMayReturnSeveralFlows() throws {
        let dir = try ScriptDirectory("""
            local t = task("t", function() end)
            return { Flow("a", function() t() end), Flow("b", function() t() t() end) }
            """)
        #expect(try dir.load(flow: "b").1.tasks.count == 2)
        #expect(dir.loadError() == "flow.lua: the script returns 2 flows ('a', 'b'); pick one with --flow NAME")
    }
}

/// Every mistake in a flow script is reported with the file and line to fix.
@Suite struct BadScriptTests {
    @Test(arguments: [
        ("return Flow('x', function()\n  t(\nend)", "flow.lua:3: unexpected symbol near 'end'"),
        ("local x\nprint(x.y)", "flow.lua:2: attempt to index a nil value (local 'x')"),
        ("local t = task(function() end)", "flow.lua: the script returns no flow (end it with `return flow`)"),
        ("return 42", "flow.lua: the script returned a number where a Flow was expected (return value #1)"),
        ("local a = task('a', function() end)\nlocal b = task('b', function() end)\nlocal f = Flow('c')\n"
            + "b:set_upstream(a, {flow = f})\na:set_upstream(b, {flow = f})\nreturn f",
         "flow.lua:5: flow 'c' has a cycle: a -> b -> a\n  a (defined at flow.lua:1)\n  b (defined at flow.lua:2)"),
        ("local o = task('out', function(value) end)\nlocal g = task(function() end)\nlocal f = Flow('x')\n"
            + "o:bind { valu = g, flow = f }\nreturn f",
         "flow.lua:4: bad argument 'valu' to task 'out' (its function has no such parameter; parameters: value)"),
        ("local add = task('add', function(x, y) end)\nreturn Flow('x', function()\n  add { x = 1, z = 2 }\nend)",
         "flow.lua:3: bad argument 'z' to task 'add' (its function has no such parameter; parameters: x, y)"),
        ("local add = task('add', function(x) end)\nreturn Flow('x', function()\n  add(1, 2)\nend)",
         "flow.lua:3: bad argument #2 to task 'add' (its function takes 1 argument)"),
        ("local t = task('t', { max_retrys = 3 }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (unknown field 'max_retrys'; known fields: cache_for, cache_key, cache_validator, checkpoint, fuse, max_retries, name, nout, on_failure, priority, resources, result, retry_delay, skip_on_upstream_skip, state_handlers, tags, target, task_run_name, timeout, trigger)"),
        ("local t = task('t', { max_retries = '3' }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'max_retries': non-negative integer expected, got string)"),
        ("local t = task('t', { timeout = -1 }, function() end)",
         "flow.lua:1: bad argument #2 to 'task' (field 'timeout': positive number expected, got number)"),
        ("local t = task('t')", "flow.lua:1: bad argument #2 to 'task' (function expected, got no value)"),
        ("local e = DaskKubernetesEnvironment { min_worker = 1 }",
         "flow.lua:1: bad argument #1 to 'DaskKubernetesEnvironment' (unknown field 'min_worker'; known fields: docker_secret, image_pull_secret, log_k8s_errors, max_workers, metadata, min_workers, on_exit, on_start, private_registry, scheduler_logs, scheduler_spec_file, secrets, startup_timeout, work_stealing, worker_groups, worker_spec_file)"),
        ("local e = DaskKubernetesEnvironment { min_workers = 4, max_workers = 2 }",
         "flow.lua:1: bad argument #1 to 'DaskKubernetesEnvironment' (min_workers (4) is greater than max_workers (2))"),
        ("local e = DaskKubernetesEnvironment { max_workers = '3' }",
         "flow.lua:1: bad argument #1 to 'DaskKubernetesEnvironment' (field 'max_workers': positive integer expected, got string)"),
        ("local e = DaskKubernetesEnvironment { worker_spec_file = 'nope.yaml' }",
         "flow.lua:1: DaskKubernetesEnvironment worker_spec_file: nope.yaml: No such file or directory"),
        ("local f = Flow('x')\nf.executor = DaskKubernetesEnvironment {}",
         "flow.lua:2: flow.executor must be an executor (LocalExecutor, LocalDaskExecutor, DaskExecutor), got DaskKubernetesEnvironment"),
        ("local f = Flow('x')\nf.exector = LocalExecutor {}",
         "flow.lua:2: flow 'x' has no field 'exector' (settable fields: environment, executor, limits, result, run_config, storage)"),
        ("local t = task('t', function(x) end)\nreturn Flow('x', function()\n  t(print)\nend)",
         "flow.lua:3: bad argument 'x' to task 't' (a constant must be nil, a boolean, a number, a string or a table of those: x is a function)"),
        ("local t = task('t', function() end)\nt()", "flow.lua:2: task 't' was called outside a flow: call tasks inside Flow(name, function() ... end), or use t:bind{..., flow = f}"),
        ("local t = task('t', function(x) end)\nreturn Flow('x', function()\n  local p = Parameter('p')\n  t(p)\n  t(Parameter('p'))\nend)",
         "flow.lua:5: flow 'x' already has a parameter named 'p' (from flow.lua:3)"),
        ("local m = require('missing_module')",
         "flow.lua:1: module 'missing_module' not found:\n\tno field package.preload['missing_module']\n\tno file 'missing_module.lua'\n\tno file 'missing_module/init.lua'"),
        ("local m = require('broken')", "error loading module 'broken' from file 'broken.lua':\n\tbroken.lua:2: unexpected symbol near '+'"),
    ])
    func errorsNameFileAndLine(script: String, message: String) throws {
        let dir = try ScriptDirectory(script, files: ["broken.lua": "local x =\n+ 1\n"])
        #expect(dir.loadError() == message)
    }
}
