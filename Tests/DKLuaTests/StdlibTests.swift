import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing

/// The standard library, through real Lua, real libyaml and real processes.
@Suite struct StdlibTests {
    /// Runs Lua in a host that searches the repository's stdlib; returns its results.
    func lua(_ source: String) throws -> [Value] {
        let stdlib = try #require(ModuleSearchPath.standardLibrary)
        let host = try LuaHost(sources: .script(path: "t.lua", searchPath: ModuleSearchPath(directories: [stdlib])))
        return try host.execute(source, chunkName: "=t")
    }

    func luaError(_ source: String) throws -> String? {
        do { _ = try lua(source); return nil } catch { return "\(error)" }
    }

    @Test func jsonRoundTripsAndSortsKeys() throws {
        #expect(try lua(#"return dk.json.encode({ b = { 1, 2.5, "x\n" }, a = true, c = {} })"#) == [#"{"a":true,"b":[1,2.5,"x\n"],"c":[]}"#])
        #expect(try lua(#"local v = dk.json.decode([[{"k": [1, -2e3, "\u00e9\ud83d\ude00", null, {"z": false}]}]]) return v.k[1], v.k[2], v.k[3], v.k[5].z"#)
                == [1, -2000.0, .text("é😀"), false])
        #expect(try lua(#"return math.type(dk.json.decode("9007199254740993"))"#) == ["integer"])
    }

    @Test(arguments: [
        (#"dk.json.decode('{"a" 1}')"#, "t:1: dk.json.decode: expected ':' at byte 6"),
        (#"dk.json.decode('[1, 2')"#, "t:1: dk.json.decode: unexpected end of input in an array at byte 6"),
        (#"dk.json.decode('"\x01"')"#, "t:1: dk.json.decode: control character in a string at byte 2"),
        (#"dk.json.decode('nul')"#, "t:1: dk.json.decode: invalid literal at byte 1"),
        (#"dk.json.encode({ f = print })"#, "t:1: dk.json.encode: value.f is a function, which cannot cross Lua states"),
    ])
    func jsonErrorsNameTheByte(source: String, message: String) throws {
        #expect(try luaError(source) == message)
    }

    @Test func yamlLoadsDumpsAndRoundTripsTheSeedSpec() throws {
        let spec = try String(contentsOfFile: #filePath.components(separatedBy: "/Tests/")[0] + "/examples/worker_spec.yaml", encoding: .utf8)
        let results = try lua("""
            local spec = dk.yaml.load([==[\(spec)]==], "worker_spec.yaml")
            local again = dk.yaml.load(dk.yaml.dump(spec))
            return dk.json.encode(spec) == dk.json.encode(again), spec.spec.containers[1].args[3], again.spec.replicas
            """)
        #expect(results == [true, "2", 2])
        #expect(try lua(#"return dk.yaml.dump({ s = "true", m = "3", e = "", list = { 1, "a b" } })"#)
                == ["e: \"\"\nlist:\n- 1\n- a b\nm: \"3\"\ns: \"true\"\n"])
        // YAML 1.1 readers (kubectl, PyYAML) take y, n, no, on, off for booleans: quoted.
        #expect(try lua(#"return dk.yaml.dump({ app = "y", n = "no", on = "off", ok = "yes please" })"#)
                == ["app: \"y\"\n\"n\": \"no\"\nok: yes please\n\"on\": \"off\"\n"])
        #expect(try lua(#"local docs = dk.yaml.load_all("a: 1\n---\nb: &x [1]\nc: *x\n") return #docs, docs[2].c[1]"#) == [2, 1])
        #expect(try luaError(#"dk.yaml.load("a: [1,\n", "bad.yaml")"#)
                == "t:1: dk.yaml.load: bad.yaml:2:1: while parsing a flow node: did not find expected node content")
    }

    @Test func yamlLoadsAFileNamingItInErrors() throws {
        let dir = try TempDir(["spec.yaml": "kind: Pod\nspec: {containers: [{name: w}]}\n", "bad.yaml": "a: [1,\n"])
        #expect(try lua(#"return dk.yaml.load_file("\#(dir.path)/spec.yaml").spec.containers[1].name"#) == ["w"])
        #expect(try luaError(#"dk.yaml.load_file("\#(dir.path)/bad.yaml")"#)
                == "t:1: dk.yaml.load_file: \(dir.path)/bad.yaml:2:1: while parsing a flow node: did not find expected node content")
        #expect(try luaError(#"dk.yaml.load_file("\#(dir.path)/none.yaml")"#)?.hasPrefix("t:1: dk.yaml.load_file: ") == true)
    }

    @Test func shellRunsRealProcesses() throws {
        #expect(try lua(#"local r = dk.shell.run({ "sh", "-c", "read x; echo got $x $FOO; echo oops >&2; exit 3" }, { stdin = "in\n", env = { FOO = "bar" } }) return r.code, r.stdout, r.stderr, r.timed_out"#)
                == [3, "got in bar\n", "oops\n", false])
        #expect(try lua(#"return dk.shell.run({ "pwd" }, { cwd = "/tmp" }).stdout"#) == ["/tmp\n"])
        #expect(try lua(#"return dk.shell.run({ "env" }, { clear_env = true, env = { ONLY = "1" } }).stdout"#) == ["ONLY=1\n"])
        let timed = try lua(#"local r = dk.shell.run({ "sh", "-c", "sleep 5 & sleep 5" }, { timeout = 0.2 }) return r.timed_out, r.code"#)
        #expect(timed == [true, .int(128 + 15)])  // SIGTERM
        let stubborn = try lua(#"local r = dk.shell.run({ "sh", "-c", "trap '' TERM; sleep 5" }, { timeout = 0.2 }) return r.timed_out, r.code"#)
        #expect(stubborn == [true, .int(128 + 9)])  // SIGKILL after the grace
        #expect(try luaError(#"dk.shell.run({ "no-such-program-dk" })"#) == "t:1: dk.shell.run: no-such-program-dk: No such file or directory")
        #expect(try luaError(#"dk.shell.run({ "false" }, { check = true })"#) == "t:1: dk.shell.run: false exited 1: ")
        #expect(try luaError(#"dk.shell.run("ls -l")"#) == "t:1: bad argument #1 to 'run' (a list of strings expected: the program and its arguments)")
        #expect(try luaError(#"dk.shell.run({ "ls" }, { shell = true })"#) == "t:1: bad argument #2 to 'run' (unknown option 'shell')")
    }

    @Test func filesAndTime() throws {
        let dir = "/tmp/dks-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try lua("""
            dk.fs.write("\(dir)/b.txt", "bee")
            dk.fs.write("\(dir)/a.txt", "ay")
            local names = dk.fs.list("\(dir)")
            return names[1], names[2], dk.fs.read("\(dir)/b.txt"), dk.fs.exists("\(dir)/a.txt"), dk.fs.is_dir("\(dir)"), dk.fs.exists("\(dir)/zz")
            """) == ["a.txt", "b.txt", "bee", true, true, false])
        #expect(try luaError(#"dk.fs.read("/nonexistent/x")"#) == "t:1: dk.fs.read: /nonexistent/x: No such file or directory")
        #expect(try lua(#"return dk.time.format(86400 * 365)"#) == ["1971-01-01T00:00:00Z"])
        #expect(try lua(#"local t = dk.time.now() dk.time.sleep(0.05) return dk.time.now() - t >= 0.05"#) == [true])
    }

    @Test func secretsComeFromTheEnvironmentAFileOrADirectory() throws {
        let dir = "/tmp/dksec-" + UUID().uuidString.prefix(8)
        defer {
            // Other tests of this process look secrets up too.
            for name in ["DKRUN_SECRET_API_TOKEN", "DKRUN_SECRETS_FILE", "DKRUN_SECRETS_DIR"] { unsetenv(name) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        try FileManager.default.createDirectory(atPath: dir + "/mounted", withIntermediateDirectories: true)
        try "db_password: from-file-123\n".write(toFile: dir + "/secrets.yaml", atomically: true, encoding: .utf8)
        try "mounted-456".write(toFile: dir + "/mounted/registry", atomically: true, encoding: .utf8)
        setenv("DKRUN_SECRET_API_TOKEN", "from-env-789", 1)
        setenv("DKRUN_SECRETS_FILE", dir + "/secrets.yaml", 1)
        setenv("DKRUN_SECRETS_DIR", dir + "/mounted", 1)
        #expect(try lua(#"return dk.secrets.get("api-token"), dk.secrets.get("db_password"), dk.secrets.get("registry")"#)
                == ["from-env-789", "from-file-123", "mounted-456"])
        #expect(SecretMask.apply("token from-env-789 and mounted-456") == "token **** and ****")
        #expect(try luaError(#"dk.secrets.get("nope")"#) == "t:1: dk.secrets.get: secret 'nope' not found (looked in $DKRUN_SECRET_NOPE, secrets file \(dir)/secrets.yaml, directory \(dir)/mounted)")
    }

    @Test func theVendorExampleLibraryPassesItsTests() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let stdlib = try #require(ModuleSearchPath.standardLibrary)
        let host = try LuaHost(sources: .script(path: "t.lua", searchPath: ModuleSearchPath(directories: [root + "/examples/vendor", stdlib])))
        let tests = try String(contentsOfFile: root + "/examples/vendor/records/tests.lua", encoding: .utf8)
        #expect(try host.execute(tests, chunkName: "@examples/vendor/records/tests.lua") == ["ok"])
    }
}
