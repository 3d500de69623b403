import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Secrets stay secret through the built dkrun: masked in every form in what each process
/// prints or sends (here, a Dask worker's dkrun), kept out of payloads as references, and
/// nothing a task writes breaks the `--json-events` stream.
@Suite(.timeLimit(.minutes(10))) struct SecretsTests {
    /// A secret with the characters JSON, YAML and shells escape.
    static let secret = "s3\"cr\\et\n\tpart two 'q'"

    /// Neither the secret nor any piece of it longer than its first line is in `text`.
    static func leaks(_ text: String) -> Bool {
        text.contains("s3\"cr\\et") || text.contains(#"s3\"cr\\et"#) || text.contains("part two")
    }

    static let tasks = """
        local show = task("show", function()
          local s = dk.secrets.get("e2e_token")
          print("print " .. s)
          dk.log.warning("log %s", s)
          io.write("write ", s, "\\n")
          io.stderr:write("stderr ", s, "\\n")
          print(dk.json.encode({ s = s }))
          print(dk.yaml.dump({ s = s }))
          os.execute("echo from a program")
          io.write("no line end")
          return { s, "Bearer " .. s }
        end)
        local use = task("use", function(r) return r[1] == dk.secrets.get("e2e_token") and r[2] == "Bearer " .. r[1] end)
        local boom = task("boom", function(r) error("refused " .. r[1]) end)
        """

    @Test(arguments: ["local", "threads=2"])
    func jsonEventsHoldNoSecretInAnyFormAndStayJSON(executor: String) throws {
        let dir = try TempDir(["f.lua": Self.tasks + """
            os.execute("echo from the top level")
            return Flow("secrets", function() local r = show() use(r) boom(r) end)
            """])
        let r = try CLI.run([dir.file("f.lua"), "--json-events", "--executor", executor], environment: ["DKRUN_SECRET_E2E_TOKEN": Self.secret])
        #expect(r.status == 1)
        let all = try events(r.stdout)  // every line is one JSON event
        #expect(!Self.leaks(r.stdout) && !Self.leaks(r.stderr), "\(r.stdout)\(r.stderr)")
        let logs = all.filter { $0["event"] as? String == "log" }.map { "\($0["level"]!) \($0["message"]!)" }
        for line in ["INFO print ****", "WARNING log ****", "INFO write ****", "WARNING stderr ****", #"INFO {"s":"****"}"#,
                     "INFO no line end"] {
            #expect(logs.contains(line), "\(line) not in \(logs)")
        }
        // A program's output goes to stderr, not into the events.
        #expect(r.stderr.contains("from a program") && r.stderr.contains("from the top level"))
        let states = Dictionary(all.filter { $0["event"] as? String == "task_state" && $0["state"] as? String != "Running" }
            .map { ($0["task"] as! String, $0) }) { $1 }
        #expect(states["show"]?["result"] as? [String] == ["****", "Bearer ****"])
        #expect(states["use"]?["result"] as? Bool == true)
        #expect(states["boom"]?["message"] as? String == "\(dir.file("f.lua")):14: refused ****")

        let people = try CLI.run([dir.file("f.lua"), "--executor", executor], environment: ["DKRUN_SECRET_E2E_TOKEN": Self.secret])
        #expect(!Self.leaks(people.stdout) && !Self.leaks(people.stderr), "\(people.stdout)")
        #expect(people.stdout.contains("  Failed: boom — \(dir.file("f.lua")):14: refused ****"), "\(people.stdout)")
    }

    /// The secret is only on the workers: what reaches the user's dkrun was masked there,
    /// and a result holding it reaches the next task's worker as a reference it resolves.
    @Test func onDaskTheWorkersMaskWhatLeavesThem() throws {
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        for _ in 0 ..< 2 { try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "DKRUN_SECRET_E2E_TOKEN": Self.secret]) }
        try cluster.waitForWorkers(2)
        let dir = try TempDir(["f.lua": Self.tasks + """
            return Flow("secrets", function() local r = show() use(r) boom(r) end)
            """])
        let r = try CLI.run([dir.file("f.lua"), "--json-events", "--executor", "dask=" + cluster.address])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(!Self.leaks(r.stdout) && !Self.leaks(r.stderr), "\(r.stdout)\(r.stderr)")
        let all = try events(r.stdout)
        let logs = all.filter { $0["event"] as? String == "log" && $0["task"] != nil }.map { "\($0["message"]!)" }
        #expect(logs.contains("print ****") && logs.contains("write ****") && logs.contains("stderr ****"), "\(logs)")
        let states = Dictionary(all.filter { $0["event"] as? String == "task_state" && $0["state"] as? String != "Running" }
            .map { ($0["task"] as! String, $0) }) { $1 }
        #expect(states["show"]?["result"] as? [String] == ["<secret e2e_token>", "Bearer <secret e2e_token>"])
        #expect(states["use"]?["result"] as? Bool == true, "\(states)")
        #expect(states["boom"]?["message"] as? String == "\(dir.file("f.lua")):14: refused ****")

        let people = try CLI.run([dir.file("f.lua"), "--executor", "dask=" + cluster.address])
        #expect(!Self.leaks(people.stdout) && !Self.leaks(people.stderr), "\(people.stdout)")
        #expect(people.stdout.contains("  Failed: boom — \(dir.file("f.lua")):14: refused ****"), "\(people.stdout)")
        let workerLogs = try (0 ..< 2).map { try String(contentsOfFile: cluster.dir.file("worker-\($0).log"), encoding: .utf8) }
        #expect(!workerLogs.contains(where: Self.leaks))
    }

    static let topLevel = """
        local token = dk.secrets.get("e2e_top")
        local call = task("call", function(token, header) return #token + #header end)
        return Flow("top", { run_config = KubernetesRun { secrets = { "e2e_top" } } }, function()
          call(Parameter("token", { default = token }), "Bearer " .. token)
        end)
        """

    @Test func aSecretReadAtTheTopLevelIsAReferenceInThePayloadInspectAndDryRun() throws {
        let dir = try TempDir(["top.lua": Self.topLevel])
        let env = ["DKRUN_SECRET_E2E_TOP": "top-value-1234"]
        let inspect = try CLI.run(["inspect", dir.file("top.lua")], environment: env)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains(#"token (default "<secret e2e_top>")"#), "\(inspect.stdout)")
        #expect(inspect.stdout.contains(#"header="Bearer <secret e2e_top>""#), "\(inspect.stdout)")
        let json = try CLI.run(["inspect", "--json", dir.file("top.lua")], environment: env)
        #expect(json.stdout.contains(#""value":"Bearer <secret e2e_top>""#), "\(json.stdout)")
        let dryRun = try CLI.run([dir.file("top.lua"), "--dry-run"], environment: env)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("  e2e_top: <secret e2e_top>\nkind: Secret"), "\(dryRun.stdout)")
        _ = try CLI.run(["serialize", dir.file("top.lua"), "-o", dir.file("top.dkp")], environment: env)
        let payload = try Data(contentsOf: URL(fileURLWithPath: dir.file("top.dkp")))
        for output in [inspect.stdout, json.stdout, dryRun.stdout, String(decoding: payload, as: UTF8.self)] {
            #expect(!output.contains("top-value-1234"))
        }
        #expect(payload.count > 0 && payload.range(of: Data("e2e_top".utf8)) != nil)

        // Run here, the task gets the value: "top-value-1234" and "Bearer top-value-1234".
        let run = try CLI.run([dir.file("top.lua"), "--executor", "local", "--json-events"], environment: env)
        let call = try events(run.stdout).first { $0["task"] as? String == "call" && $0["state"] as? String == "Success" }
        #expect(call?["result"] as? Int == 14 + 21, "\(run.stdout)\(run.stderr)")

        // On Kubernetes the Job's pod reads it again: the run must take it along.
        let without = try TempDir(["top.lua": Self.topLevel.replacingOccurrences(of: #"secrets = { "e2e_top" }"#, with: "")])
        let refused = try CLI.run([without.file("top.lua"), "--dry-run"], environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("flow 'top' reads secret 'e2e_top' at the top level, and the Job's pod, which evaluates "
            + "the script again, would not have it: name it in the run's secrets = { ... }"), "\(refused.stderr)")
    }

    @Test func theREPLPrintsEachResultAtOnceThroughAPipeAndMasksIt() throws {
        let process = CLI.start(["repl"], environment: ["DKRUN_SECRET_E2E_REPL": "repl-secret-99"])
        let input = Pipe()
        process.standardInput = input
        try process.run()
        let output = (process.standardOutput as! Pipe).fileHandleForReading
        input.fileHandleForWriting.write(Data("io.write('first ') print('line')\ndk.secrets.get('e2e_repl')\n".utf8))
        // Read while the REPL still waits for more input: nothing may be held back until it ends.
        var seen = ""
        while !seen.contains("\"****\"\n") {
            var p = pollfd(fd: output.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 30_000) > 0 else { break }
            let chunk = output.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(process.isRunning)
        input.fileHandleForWriting.closeFile()
        let rest = CLI.finish(process)
        #expect(seen == "first line\n\"****\"\n", "\(seen)")
        #expect(rest.status == 0 && !rest.stdout.contains("repl-secret-99"))
    }
}
