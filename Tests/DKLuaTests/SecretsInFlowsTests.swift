import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Secrets a script reads at its top level stay out of its payload (references, resolved
/// where the task runs), and what tasks write with io.write is their log, like print.
@Suite(.serialized) struct SecretsInFlowsTests {
    static let script = """
        local pw = dk.secrets.get("lua_ref_pw")
        local connect = task("connect", function(pw, url, options, password)
          return table.concat({ url, pw, options.auth[1], password, dk.context.parameters.password }, " ")
        end)
        return Flow("refs", function()
          local password = Parameter("password", { default = pw })
          connect(pw, "postgres://app:" .. pw .. "@db", { auth = { pw } }, password)
        end)
        """

    static func reference(_ parts: [String]) -> Value { .secret(SecretText(parts: parts.map { Array($0.utf8) })!) }

    @Test func aSecretReadAtTheTopLevelIsAReferenceInThePayloadAndItsValueInTheTask() throws {
        setenv("DKRUN_SECRET_LUA_REF_PW", "lua-ref-hunter2", 1)
        let dir = try ScriptDirectory(Self.script)
        let (host, spec) = try dir.load(standardLibrary: true)
        let whole = Self.reference(["", "lua_ref_pw", ""])
        #expect(spec.constants.map(\.value) == [["auth": [whole]], whole, Self.reference(["postgres://app:", "lua_ref_pw", "@db"])])
        #expect(spec.task("password")?.parameter?.defaultValue == whole)
        let bytes = host.sources.payload(for: spec, parameters: try FlowGraph(spec).resolveParameters([:])).encoded()
        #expect(bytes.firstRange(of: Array("lua-ref-hunter2".utf8)) == nil)

        // The worker reads the secret again where it rebuilds the flow: the same DAG (a rebuild
        // that gives another fails).
        _ = try LuaHost.rebuild(Payload(bytes: bytes))
        for executor in [ExecutorChoice.local, .threads(2)] {
            let result = try host.execution(of: spec, parameters: [:], executor: executor, observer: nil).run()
            #expect(result.taskStates["connect"]?.result
                    == "postgres://app:lua-ref-hunter2@db lua-ref-hunter2 lua-ref-hunter2 lua-ref-hunter2 lua-ref-hunter2",
                    "\(executor): \(result.taskStates["connect"]?.message ?? "")")
        }

        // Gone by the time the task runs: the task fails, naming the secret.
        unsetenv("DKRUN_SECRET_LUA_REF_PW")
        let result = try host.execution(of: spec, parameters: [:], executor: .local, observer: nil).run()
        let failed = try #require(result.taskStates["connect"])
        #expect(failed.kind == .failed)
        #expect(failed.message?.hasPrefix("task 'connect': secret 'lua_ref_pw' not found (looked in $DKRUN_SECRET_LUA_REF_PW") == true)
    }

    @Test func aSecretInTheConfigurationIsRefused() throws {
        setenv("DKRUN_SECRET_LUA_CONFIG_TOKEN", "lua-config-token", 1)
        let dir = try ScriptDirectory("""
            local token = dk.secrets.get("lua_config_token")
            return Flow("config", { run_config = KubernetesRun { env = { TOKEN = "Bearer " .. token } } }, function()
              task("t", function() end)()
            end)
            """)
        let error = #expect(throws: FlowDescriptionError.self) { try dir.load(standardLibrary: true) }
        #expect(error?.description == "flow 'config': run_config.env.TOKEN holds secret 'lua_config_token' (read with dk.secrets.get "
            + "at the top level): a flow's configuration goes in clear into its payload and its Kubernetes objects; read the "
            + "secret in the task that needs it (on Kubernetes, name it in the run's secrets = { ... })")
    }

    @Test func ioWriteInATaskIsItsLogLineByLine() throws {
        let file = "/tmp/dkio-" + UUID().uuidString.prefix(8)
        defer { unlink(file) }
        let (result, log) = try runFlow("""
            local t = task("t", function()
              io.write("one ", 2, " ", 3.5, "\\nthree")
              io.stdout:write(" four\\n")
              io.stderr:write("to stderr\\n")
              io.output():write("no end")
              local f = io.open("\(file)", "w")
              f:write("into the file")
              f:close()
            end)
            local bad = task("bad", function() io.write({}) end)
            return Flow("io", function() t() bad() end)
            """)
        #expect(log.logs == ["t: one 2 3.5", "t: three four", "t: to stderr", "t: no end"])
        let levels = log.events.compactMap { if case let .log(_, level, _, _) = $0 { return level } else { return nil } }
        #expect(levels == [.info, .info, .warning, .info])
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "into the file")
        #expect(result.taskStates["bad"]?.message?.hasSuffix("/flow.lua:10: bad argument #1 to 'write' (string expected, got table)") == true)
    }

    @Test func aSecretTooShortToMaskIsNamedInAWarning() throws {
        setenv("DKRUN_SECRET_LUA_SHORT", "ab", 1)
        let (_, log) = try runFlow("""
            local t = task("t", function() dk.secrets.get("lua_short") end)
            return Flow("short", function() t() end)
            """, standardLibrary: true)
        #expect(log.logs == ["t: dk.secrets.get: secret 'lua_short' is shorter than 3 characters: dkrun cannot mask it in its "
            + "output or keep it out of the flow's payload"])
    }
}
