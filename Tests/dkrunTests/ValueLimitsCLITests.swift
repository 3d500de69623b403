import DKTestSupport
import Foundation
import Testing

/// The limits on values and documents (docs/limits.md) as a user meets them: parameters,
/// params files, spec files and task results deeper than 200 levels, or YAML whose aliases
/// would repeat too much, are errors that name the file (or the option, or the task) and
/// the place, never a crash. The documents are Tests/Fixtures/bad-inputs/values.
@Suite struct ValueLimitsCLITests {
    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: repoRoot + "/Tests/Fixtures/bad-inputs/values/" + name, encoding: .utf8)
    }

    static func files() throws -> [String: String] {
        [
            "param.lua": "local t = task('t', function(x) end)\nreturn Flow('p', function() t(Parameter('x')) end)\n",
            "deep.yaml": try fixture("yaml-deep-flow.yaml"),
            "laughs.yaml": try fixture("yaml-billion-laughs.yaml"),
            "spec.lua": "return Flow('s', { environment = DaskKubernetesEnvironment { worker_spec_file = 'laughs.yaml' } })\n",
            "deepspec.lua": "return Flow('s', { environment = DaskKubernetesEnvironment { scheduler_spec_file = 'deep.yaml' } })\n",
        ]
    }

    static let tooDeep = "is nested more than 200 levels deep (the limit)"
    static let laughs = "laughs.yaml:6:16: aliases repeat more than 1000000 nodes and bytes (the limit on alias expansion)"

    @Test(arguments: [
        (["param.lua", "--param", "x=" + String(repeating: "[", count: 300)], "--param x:1:201: [1][1][1][1][1][1][1][1]...[1][1] \(tooDeep)"),
        (["param.lua", "--param", "x=" + String(repeating: "{a: ", count: 1000)], "--param x:1:801: a.a.a.a.a.a.a.a...a.a \(tooDeep)"),
        (["param.lua", "--params-file", "deep.yaml"], "deep.yaml:1:203: x[1][1][1][1][1][1][1]...[1][1] \(tooDeep)"),
        (["param.lua", "--params-file", "laughs.yaml"], laughs),
        (["spec.lua", "--dry-run"], "spec.lua:1: DaskKubernetesEnvironment worker_spec_file: \(laughs)"),
        (["deepspec.lua", "--dry-run"], "deepspec.lua:1: DaskKubernetesEnvironment scheduler_spec_file: deep.yaml:1:203: x[1][1][1][1][1][1][1]...[1][1] \(tooDeep)"),
    ])
    func refusedWithExitTwoNamingTheFile(arguments: [String], message: String) throws {
        let dir = try TempDir(try Self.files())
        let r = try CLI.run(arguments, in: dir.path)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "dkrun: error: " + message + "\n")
    }

    /// A task's result deeper than the limit fails that task, on every executor, and its
    /// downstream task does not run; 200 levels reach the downstream task whole.
    @Test(arguments: ["local", "threads"])
    func deepResultsFailTheirTask(executor: String) throws {
        let flow = """
            local make = task('make', function(n)
              local t = {}
              for i = 2, n do t = { t } end
              return t
            end)
            local use = task('use', function(v)
              local n = 0
              while type(v) == 'table' do v = v[1]; n = n + 1 end
              print('depth ' .. n)
            end)
            return Flow('deep', function() use(make(Parameter('n'))) end)
            """
        let dir = try TempDir(["deep.lua": flow])
        let ok = try CLI.run(["deep.lua", "--executor", executor, "--param", "n=200"], in: dir.path)
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("use | depth 200"))
        let failed = try CLI.run(["deep.lua", "--executor", executor, "--param", "n=201"], in: dir.path)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("make — task 'make' returned a value that cannot cross Lua states: "
                                       + "result[1][1][1][1][1][1][1][1]...[1][1] \(Self.tooDeep)"), "\(failed.stdout)")
        #expect(!failed.stdout.contains("depth"))
    }
}
