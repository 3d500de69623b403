import DKTestSupport
import Foundation
import Testing

/// Bad input: a clear message naming the file and line (or the object and field), exit 2,
/// and nothing run.
@Suite struct BadInputTests {
    static let scripts: [String: String] = [
        "syntax.lua": "local t = task(function() end)\nreturn Flow('x', function()\n  t(\nend)\n",
        "toplevel.lua": "local cfg = nil\nlocal n = cfg.workers\n",
        "noflow.lua": "local t = task(function() end)\n",
        "two.lua": "local t = task('t', function() end)\nreturn Flow('a', function() t() end), Flow('b', function() t() end)\n",
        "cycle.lua": "local a = task('a', function() end)\nlocal b = task('b', function() end)\nlocal f = Flow('c')\n"
            + "b:set_upstream(a, { flow = f })\na:set_upstream(b, { flow = f })\nreturn f\n",
        "bind.lua": "local o = task('out', function(value) end)\nlocal g = task('get', function() end)\nlocal f = Flow('x')\n"
            + "o:bind { valu = g, flow = f }\nreturn f\n",
        "option.lua": "local t = task('t', { retries = 3 }, function() end)\nreturn Flow('x', function() t() end)\n",
        "checkpoint.lua": "local t = task('t', { checkpoint = true }, function() end)\nreturn Flow('x', function() t() end)\n",
        "type.lua": "local f = Flow('x')\nf.environment = DaskKubernetesEnvironment { min_workers = '1' }\nreturn f\n",
        "param.lua": "local t = task('t', function(url) end)\nreturn Flow('x', function()\n  t(Parameter('url'))\nend)\n",
        "bad.yaml": "url: [1,\n",
        "list.yaml": "- 1\n",
    ]

    @Test(arguments: [
        (["missing.lua"], "missing.lua: No such file or directory"),
        (["syntax.lua"], "syntax.lua:4: unexpected symbol near 'end'"),
        (["toplevel.lua"], "toplevel.lua:2: attempt to index a nil value (local 'cfg')"),
        (["noflow.lua"], "noflow.lua: the script returns no flow (end it with `return flow`)"),
        (["two.lua"], "two.lua: the script returns 2 flows ('a', 'b'); pick one with --flow NAME"),
        (["two.lua", "--flow", "c"], "two.lua: no flow named 'c' (the script returns: 'a', 'b')"),
        (["cycle.lua"], "cycle.lua:5: flow 'c' has a cycle: a -> b -> a\n  a (defined at cycle.lua:1)\n  b (defined at cycle.lua:2)"),
        (["bind.lua"], "bind.lua:4: bad argument 'valu' to task 'out' (its function has no such parameter; parameters: value)"),
        (["option.lua"], "option.lua:1: bad argument #2 to 'task' (unknown field 'retries'; known fields: checkpoint, max_retries, name, nout, on_failure, retry_delay, skip_on_upstream_skip, state_handlers, tags, task_run_name, timeout, trigger)"),
        (["checkpoint.lua"], "checkpoint.lua:1: bad argument #2 to 'task' (field 'checkpoint': false (dkrun does not store task results yet, so it cannot checkpoint them) expected, got boolean)"),
        (["type.lua"], "type.lua:2: bad argument #1 to 'DaskKubernetesEnvironment' (field 'min_workers': positive integer expected, got string)"),
        (["param.lua"], "param.lua:3: missing value for required parameter 'url' (give it with --param url=VALUE)"),
        (["param.lua", "--param", "url"], "--param 'url': expected NAME=VALUE"),
        (["param.lua", "--param", "=x"], "--param '=x': expected NAME=VALUE"),
        (["param.lua", "--param", "url=[1,"], "--param url:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--param", "url=x", "--param", "uri=y"], "flow 'x' has no parameter 'uri' (it has url)"),
        (["param.lua", "--params-file", "nope.yaml"], "cannot read params file nope.yaml: No such file or directory"),
        (["param.lua", "--params-file", "bad.yaml"], "bad.yaml:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--params-file", "list.yaml"], "list.yaml: a params file must map parameter names to values, not hold an array"),
    ])
    func badInputExitsTwoAndRunsNothing(arguments: [String], message: String) throws {
        let stderr = try Self.runRefused(arguments)
        #expect(stderr == "dkrun: error: " + message + "\n")
    }

    /// Runs dkrun on the scripts, expecting exit 2 and nothing run; returns its stderr.
    static func runRefused(_ arguments: [String]) throws -> String {
        let dir = try TempDir(scripts)
        let r = try CLI.run(arguments, in: dir.path)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        return r.stderr
    }

    /// Options the command line itself refuses: ArgumentParser's message, then the usage.
    @Test(arguments: [
        (["param.lua", "--executor", "gpu"], "invalid executor 'gpu' (expected local, threads, threads=N with N >= 1, dask or dask=ADDRESS)"),
        (["param.lua", "--executor", "dask="], "invalid executor 'dask=' (expected local, threads, threads=N with N >= 1, dask or dask=ADDRESS)"),
    ])
    func badOptionsExitTwoWithTheUsage(arguments: [String], message: String) throws {
        let stderr = try Self.runRefused(arguments)
        #expect(stderr.hasPrefix("Error: " + message + "\nUsage: dkrun run "), "\(stderr)")
    }

    @Test func unknownCommandLineOptionsAreBadInput() throws {
        let r = try CLI.run(["examples/hello.lua", "--nope"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Unknown option '--nope'"))
    }
}
