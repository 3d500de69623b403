import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua`: the examples, output, exit codes, overrides.
@Suite struct RunCommandTests {
    @Test func helloRuns() throws {
        let r = try CLI.run(["examples/hello.lua"])
        #expect(r.status == 0)
        #expect(r.lines.contains { $0.hasSuffix("INFO    shout | HELLO, WORLD!") })
        #expect(r.lines.contains { $0.range(of: "^[0-9:.]+ INFO    greet: Success \\([0-9.]+ [µm]?s\\)$", options: .regularExpression) != nil })
        #expect(r.lines.last?.hasPrefix("Flow 'hello': Success in ") == true)
        #expect(r.lines.last?.hasSuffix("— 3 Success") == true)
        #expect(r.stderr.isEmpty)
    }

    /// libcurl and the libraries it needs are loaded at the first HTTP request, not at start
    /// (the dynamic loader's own account, LD_DEBUG=files, lists every library it loads).
    @Test func libcurlIsLoadedOnlyByAnHTTPRequest() throws {
        let dir = try TempDir()
        try """
            local get = task("get", function()
              return select(2, pcall(dk.http.get, "http://127.0.0.1:9/", { timeout = 5 }))
            end)
            return Flow("get", function() get() end)
            """.write(toFile: dir.file("get.lua"), atomically: true, encoding: .utf8)
        let hello = try CLI.run(["examples/hello.lua", "-q"], environment: ["LD_DEBUG": "files"])
        let get = try CLI.run([dir.file("get.lua"), "-q"], environment: ["LD_DEBUG": "files"])
        #expect(hello.status == 0 && get.status == 0)
        #expect(hello.stderr.contains("file=libsqlite3.so.0"))  // what the loader lists at start
        #expect(!hello.stderr.contains("libcurl"))
        #expect(get.stderr.contains("file=libcurl.so.4 [0];  dynamically loaded by"))
    }

    /// `dkrun FLOW.lua ...` is parsed as the run command alone (Entry.swift); help, version
    /// and usage errors are still the root's, which name `dkrun run`.
    @Test func aScriptFirstLineHelpsAndFailsAsTheRoot() throws {
        let help = try CLI.run(["examples/hello.lua", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: dkrun run "), "\(help.stdout)")
        #expect(help.stdout == (try CLI.run(["run", "--help"])).stdout)
        let version = try CLI.run(["examples/hello.lua", "--version"])
        #expect(version.status == 0 && version.stdout == Product.version + "\n")
        let unknown = try CLI.run(["examples/hello.lua", "--no-such-option"])
        #expect(unknown.status == 2 && unknown.stderr.hasPrefix("Error: Unknown option '--no-such-option'\nUsage: dkrun run "),
                "\(unknown.stderr)")
    }

    /// libedit (and libtinfo, libbsd, libmd with it) is the terminal REPL's: a run loads none
    /// of them (REPLTests drive the terminal REPL that opens it).
    @Test func libeditIsNotLoadedByARun() throws {
        let hello = try CLI.run(["examples/hello.lua", "-q"], environment: ["LD_DEBUG": "files"])
        #expect(hello.status == 0)
        #expect(hello.stderr.contains("file=libsqlite3.so.0"))  // what the loader lists at start
        #expect(!hello.stderr.contains("libedit"))
    }

    @Test func realisticFlowRunsWithRetriesAndMapping() throws {
        let r = try CLI.run(["examples/etl.lua", "--param", "batch=6"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("report | ETL done: total 252.0"))
        #expect(r.stdout.contains("WARNING transform[2]: Retrying"))
        #expect(r.stdout.contains("transform: Mapped: Mapped 6 items"))
    }

    @Test(arguments: ["min_max_workers", "custom_worker_spec", "static_cluster"])
    func seedExamplesRunLocallyWhenAsked(name: String) throws {
        let r = try CLI.run(["examples/\(name).lua", "--executor", "local", "--quiet"])
        #expect(r.status == 0)
        #expect(r.lines.count == 1)
        #expect(r.lines.first?.hasSuffix("INFO    output_value | Example!") == true)
    }

    @Test(arguments: ["min_max_workers", "static_cluster"])
    func kubernetesFlowsWithoutAClusterStopClearly(name: String) throws {
        let r = try CLI.run(["examples/\(name).lua"], environment: ["KUBECONFIG": "/nonexistent/config"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "dkrun: error: no kubeconfig: /nonexistent/config does not exist (set KUBECONFIG, or run in a pod)\n")
    }

    @Test func dryRunCannotDetach() throws {
        let r = try CLI.run(["examples/min_max_workers.lua", "--dry-run", "--detach"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("Error: --dry-run makes nothing, so it cannot --detach."))
    }

    @Test func dryRunAndDetachAreForKubernetesFlows() throws {
        for flags in [["--dry-run"], ["--detach"], ["--service-account", "dkrun"]] {
            let r = try CLI.run(["examples/hello.lua"] + flags)
            #expect(r.status == 2)
            #expect(r.stderr == "dkrun: error: --dry-run, --detach and --service-account are for flows that run on Kubernetes, and flow 'hello' runs here\n")
        }
    }

    @Test func threadsGiveTheSameResultsAsLocal() throws {
        func results(_ executor: String) throws -> [String: String] {
            let r = try CLI.run(["examples/etl.lua", "--executor", executor, "--json-events"])
            #expect(r.status == 0)
            var out: [String: String] = [:]
            for e in try events(r.stdout) where e["event"] as? String == "task_state" && e["state"] as? String != "Running" {
                let key = "\(e["task"]!)\(e["map_index"].map { "[\($0)]" } ?? "")"
                let result = try e["result"].map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
                out[key] = "\(e["state"]!) \(result.map { String(decoding: $0, as: UTF8.self) } ?? "")"
            }
            return out
        }
        let local = try results("local")
        #expect(local.count == 6 + 8)
        #expect(try results("threads=3") == local)
    }

    @Test func jsonEventsDescribeTheRun() throws {
        let r = try CLI.run(["examples/hello.lua", "--json-events", "--param", "name=json"])
        let all = try events(r.stdout)
        #expect(all.first?["event"] as? String == "flow_started")
        #expect(all.last?["event"] as? String == "flow_finished")
        #expect(all.last?["state"] as? String == "Success")
        #expect(all.contains { $0["event"] as? String == "log" && $0["message"] as? String == "HELLO, JSON!" && $0["task"] as? String == "shout" })
        #expect(all.contains { $0["task"] as? String == "greet" && $0["result"] as? String == "Hello, json!" })
    }

    @Test func parametersAreYAMLScalars() throws {
        let dir = try TempDir(["types.lua": """
            local show = task("show", function(a, b, c, d, e) print(math.type(a), type(b), type(c), type(d), #e) end)
            return Flow("types", function()
              show(Parameter("a"), Parameter("b"), Parameter("c"), Parameter("d"), Parameter("e"))
            end)
            """, "params.yaml": "a: 1\nb: yes\nc: true\nd: ~\ne: [1, 2, 3]\n"])
        let r = try CLI.run([dir.file("types.lua"), "--params-file", dir.file("params.yaml"), "--param", "b='7'", "-q"])
        #expect(r.status == 0)
        #expect(r.lines.first?.hasSuffix("show | integer\tstring\tboolean\tnil\t3") == true)
        let floats = try CLI.run([dir.file("types.lua"), "--params-file", dir.file("params.yaml"), "--param", "a=1.5", "-q"])
        #expect(floats.lines.first?.contains("show | float\t") == true)
    }

    @Test func aFailedFlowExitsOneWithASummary() throws {
        let dir = try TempDir(["fail.lua": """
            local boom = task("boom", function() error("kaput") end)
            local after = task("after", function(x) end)
            return Flow("fails", function() after(boom()) end)
            """])
        let r = try CLI.run([dir.file("fail.lua")])
        #expect(r.status == 1)
        #expect(r.stdout.contains("ERROR   boom: Failed ("))
        #expect(r.stdout.contains("Flow 'fails': Failed in "))
        #expect(r.stdout.contains("  Failed: boom — \(dir.path)/fail.lua:1: kaput"))
        #expect(r.stdout.contains("  TriggerFailed: after — Trigger was \"all_successful\" but some of the upstream tasks failed"))
        #expect(r.stderr.isEmpty)
        let quiet = try CLI.run([dir.file("fail.lua"), "-q"])
        #expect(quiet.status == 1)
        #expect(!quiet.stdout.contains("Running"))
        #expect(quiet.stdout.contains("Flow 'fails': Failed"))
    }

    @Test(arguments: [("SIGINT", SIGINT), ("SIGTERM", SIGTERM)])
    func signalsStopTheRunCleanly(name: String, signal: Int32) throws {
        let dir = try TempDir()
        try """
            local spin = task("spin", function()
              io.open("\(dir.file("started"))", "w"):close()
              while true do end
            end)
            local never = task("never", function(x) end)
            return Flow("spin", function() never(spin()) end)
            """.write(toFile: dir.file("spin.lua"), atomically: true, encoding: .utf8)
        let process = CLI.start([dir.file("spin.lua"), "--json-events"])
        try process.run()
        // Interrupt once the task is running (or after 20 s, and the test fails).
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: dir.file("started")) && Date() < deadline { usleep(10_000) }
        kill(process.processIdentifier, signal)
        let r = CLI.finish(process)
        #expect(r.status == 130)
        let all = try events(r.stdout)
        #expect(all.contains { $0["task"] as? String == "spin" && $0["state"] as? String == "Cancelled" })
        #expect(all.contains { $0["task"] as? String == "never" && $0["state"] as? String == "Cancelled" })
        #expect(all.last?["state"] as? String == "Cancelled")
        #expect(r.stderr == "dkrun: error: interrupted\n")
    }
}

/// LocalRun's env and working_dir, in force while a flow runs here.
@Suite struct LocalRunTests {
    /// A flow whose LocalRun sets a variable and runs it in its own directory (`.`, which is
    /// not dkrun's): its task reads both, itself and through a process it starts.
    static let flow = """
        local t = task("t", function()
          local here = assert(io.open("marker.txt")):read("a")
          local child = dk.shell.run({ "sh", "-c", "echo $DKRUN_TEST_STAGE; cat marker.txt" }).stdout
          return { os.getenv("DKRUN_TEST_STAGE"), here, child }
        end)
        local f = Flow("configured", function() t() end)
        f.run_config = LocalRun { env = { DKRUN_TEST_STAGE = "staging" }, working_dir = "." }
        return f
        """

    /// Runs `flow` with `executor` and checks what its task saw.
    static func check(executor: String) throws {
        let dir = try TempDir(["flow.lua": flow, "marker.txt": "here"])
        let r = try CLI.run([dir.file("flow.lua"), "--executor", executor, "--json-events"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try DaskTests.outcomes(r.stdout)["t"] == #"Success ["staging","here","staging\nhere"] "#, "\(r.stdout)")
    }

    @Test(arguments: ["local", "threads=2"])
    func theTasksSeeTheVariablesAndTheDirectory(executor: String) throws {
        try Self.check(executor: executor)
    }
}

/// On a terminal, a progress line is kept at the bottom and cleared before each log line.
@Suite struct TerminalTests {
    @Test func progressLineOnATerminal() throws {
        // script(1) gives dkrun a pseudo-terminal, as a person's shell would.
        let r = try Process.runCapturing("/usr/bin/script", ["-qfec", "\(CLI.binary) examples/etl.lua", "/dev/null"])
        #expect(r.contains("\r\u{1b}[K[0/6 done] "))
        #expect(r.contains("report | ETL done: total 432.0"))
        // The line is cleared at the end: the summary is the last thing on the screen.
        #expect(r.hasSuffix("\r\u{1b}[K") || r.split(separator: "\n").last?.contains("Flow 'etl': Success") == true)
    }
}

extension Process {
    /// Runs a program in the repository (with the tests' DKRUN_HOME, `CLI.home`) and returns
    /// everything it printed.
    static func runCapturing(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.environment = CLI.environment()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: CLI.repoRoot)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
