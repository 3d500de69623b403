import DKCore
import DKTestSupport
import Foundation
import Testing

/// The REPL without a terminal: statements from a pipe, no prompts, scriptable.
@Suite struct PipedREPLTests {
    func repl(_ input: String, _ arguments: [String] = []) throws -> CLI.Result {
        let dir = try TempDir(["input.txt": input])
        let process = CLI.start(["repl"] + arguments)
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir.file("input.txt")))
        try process.run()
        return CLI.finish(process)
    }

    @Test func statementsExpressionsAndMultiLineChunks() throws {
        let r = try repl("""
            1 + 2
            sq = task("sq", function(x)
              return x * x
            end)
            f = Flow("squares", function() sq:map({ 1, 2, 3 }) end)
            f
            :run squares
            _.tasks.sq.result
            { 1, { a = 2 }, "s" }
            """)
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.hasPrefix("3\nFlow<squares: 1 tasks>\n"))
        #expect(r.stdout.contains("sq[2]: Success"))
        #expect(r.stdout.contains("Success(\"All reference tasks succeeded.\")\n{\n  1,\n  4,\n  9\n}\n{\n  1,\n  {\n    a = 2\n  },\n  \"s\"\n}\n"))
    }

    @Test func aScriptIsLoadedFirstAndCommandsWork() throws {
        let r = try repl(":flows\n:run hello name=repl\n:inspect hello\n:graph\n", ["examples/hello.lua"])
        #expect(r.stdout.hasPrefix("Flow<hello: 3 tasks>\n  hello\n"))
        #expect(r.stdout.contains("shout | HELLO, REPL!"))
        #expect(r.stdout.contains("Flow 'hello' from the REPL"))
        #expect(r.stdout.contains("  shout at examples/hello.lua:7 <- text=greet"))
        #expect(r.stdout.contains("\"greet\" -> \"shout\" [label=\"text\"];"))
    }

    @Test func errorsAreReportedAndTheStateIsKept() throws {
        let r = try repl("""
            kept = 42
            :nope
            x = (1 +
            +)
            :load /nonexistent/flow.lua
            require("no_such_module_dk")
            :run nothing
            dk.shell.run({ "no-such-program-dk" })
            kept
            """)
        #expect(r.status == 0)
        #expect(r.stdout == "42\n")
        let errors = r.stderr.split(separator: "\n").map(String.init)
        #expect(errors[0] == "unknown command :nope (:help lists them)")
        #expect(errors[1] == "stdin:2: unexpected symbol near '+'")
        #expect(errors[2] == ":load: /nonexistent/flow.lua: No such file or directory")
        #expect(errors[3] == "stdin:1: module 'no_such_module_dk' not found:")
        #expect(r.stderr.contains("no flow named 'nothing' (see :flows)"))
        // `return <expression>` would make the call a tail call; the REPL keeps the line's frame.
        #expect(errors.contains("stdin:1: dk.shell.run: no-such-program-dk: No such file or directory"))
    }

    @Test func aLocalRunIsInForceWhileItsFlowRunsOnly() throws {
        let dir = try TempDir(["marker.txt": "here"])
        let r = try repl("""
            t = task("t", function() print(os.getenv("DKRUN_TEST_STAGE"), io.open("marker.txt") ~= nil) end)
            f = Flow("f", function() t() end)
            f.run_config = LocalRun { env = { DKRUN_TEST_STAGE = "staging" }, working_dir = "\(dir.path)" }
            :run f
            os.getenv("DKRUN_TEST_STAGE"), io.open("marker.txt") ~= nil
            """)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.stdout.contains(" INFO    t | staging\ttrue\n"), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("\nnil\tfalse\n"), "\(r.stdout)")
    }
}

/// The REPL on a terminal, driven as a person would: tmux runs it, send-keys types, and
/// capture-pane reads the screen.
@Suite(.serialized) struct TerminalREPLTests {
    final class Session {
        let socket = "dkrun-test-" + UUID().uuidString.prefix(8)
        let home: TempDir

        init() throws {
            home = try TempDir()
            try tmux(["new-session", "-d", "-s", "r", "-x", "120", "-y", "40",
                      "cd \(CLI.repoRoot) && HOME=\(home.path) \(CLI.binary) repl examples/hello.lua"])
            guard try waitFor("dk>") else { throw CLIFailureToStart() }
        }

        /// Stops the REPL and the tmux server: nothing the test started outlives it.
        func stop() {
            if let pid = try? tmux(["display-message", "-p", "-t", "r", "#{pane_pid}"]), let p = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(p, SIGKILL)
            }
            _ = try? tmux(["kill-server"])
        }

        /// Runs tmux through DKCore's Subprocess (posix_spawn, output in files, no inherited
        /// descriptors): Foundation's Process waits for a descriptor that the tmux server,
        /// which new-session leaves running, would hold forever.
        @discardableResult
        func tmux(_ arguments: [String]) throws -> String {
            String(decoding: try Subprocess.run(["tmux", "-L", socket] + arguments).stdout, as: UTF8.self)
        }

        func type(_ text: String) throws { try tmux(["send-keys", "-t", "r", "-l", text]) }
        func enter(_ line: String) throws { try type(line); try key("Enter") }
        func key(_ name: String) throws { try tmux(["send-keys", "-t", "r", name]) }
        var screen: String { (try? tmux(["capture-pane", "-t", "r", "-p"])) ?? "" }

        /// Waits (at most 10 s) until the screen shows `text`; false if it never does.
        @discardableResult
        func waitFor(_ text: String, count: Int = 1) throws -> Bool {
            poll { $0.components(separatedBy: text).count - 1 >= count }
        }

        /// Waits until the last line on screen is an empty prompt, so typed keys reach libedit
        /// and not the terminal's echo of a line nobody reads yet.
        @discardableResult
        func waitForPrompt() throws -> Bool {
            poll { $0.split(separator: "\n").last == "dk>" }
        }

        private func poll(_ done: (String) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(10)
            while !done(screen) {
                if Date() > deadline { return false }
                usleep(50_000)
            }
            return true
        }
    }

    struct CLIFailureToStart: Error {}

    @Test func completionMultiLineAndHistory() throws {
        let s = try Session()
        defer { s.stop() }
        try s.type("dk.js")
        try s.key("Tab")
        try s.enter(".encode({ 1, 2 })")
        #expect(try s.waitFor("\"[1,2]\""))
        try s.enter("if true then")
        #expect(try s.waitFor("..>"))
        try s.enter("print(\"multi\")")
        try s.enter("end")
        #expect(try s.waitFor("\nmulti\ndk>"))
        try s.key("Up")
        #expect(try s.waitFor("dk> if true then", count: 2))  // the entry, recalled
        let screen = s.screen
        #expect(screen.contains("dk> dk.json.encode({ 1, 2 })\n\"[1,2]\"\n"))
        #expect(screen.contains("..> print(\"multi\")\n..> end\nmulti\n"))
        // libedit writes spaces in its history file as \040.
        #expect(try String(contentsOfFile: s.home.file(".dkrun_history"), encoding: .utf8).contains("dk.json.encode({\\0401,\\0402\\040})"))
    }

    @Test func ctrlCStopsARunAndClearsALine() throws {
        let s = try Session()
        defer { s.stop() }
        try s.enter("spin = task(\"spin\", function() while true do end end)")
        try s.enter("f = Flow(\"spinner\", function() spin() end)")
        try s.type("f:r")
        try s.key("Tab")
        try s.enter("()")
        #expect(try s.waitFor("spin: Running"))
        try s.key("C-c")
        #expect(try s.waitFor("Cancelled(\"The flow run was interrupted\")"))
        #expect(try s.waitForPrompt())
        try s.type("half a line")
        #expect(try s.waitFor("dk> half a line"))
        try s.key("C-c")
        #expect(try s.waitFor("^C"))
        try s.enter("40 + 2")
        #expect(try s.waitFor("\n42\n"))
        let screen = s.screen
        #expect(screen.contains("dk> f:run()\n"), "\(screen)")
        #expect(screen.contains("spin: Cancelled ("))
        #expect(screen.contains("dk> half a line^C\ndk> 40 + 2\n42\n") || screen.contains("dk> half a line\n^C\ndk> 40 + 2\n42\n"), "\(screen)")
    }
}
