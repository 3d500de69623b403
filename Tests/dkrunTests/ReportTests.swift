import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun report` and `--report`, the page checked in a real browser: headless Chromium
/// (Debian's `chromium`, scripts/setup.sh) loads the report with a probe script after the
/// report's own, which clicks what a user would and writes what it found into the page;
/// `--dump-dom` prints the page once loaded, and the test reads the probe's findings.
@Suite(.timeLimit(.minutes(10))) struct ReportTests {
    static let evil = "</script><script>window.pwned = 1</script>"

    /// A mapped task whose child 1 fails its first attempt and is retried, a task named and
    /// logging markup, and a task that logs a line and fails.
    static let flow = """
        local evil = "\(evil)"
        local numbers = task("numbers", function() return { 1, 2, 3 } end)
        local square = task("square", { max_retries = 1, retry_delay = 0 }, function(x)
          if x == 2 and dk.context.attempt == 1 then error("flaky") end
          return x * x
        end)
        local shout = task(evil, function(xs)
          dk.log.info("<img src=x onerror=\\"window.pwned = 2\\"> " .. evil)
          return xs
        end)
        local boom = task("boom", function(xs)
          dk.log.warning("about to fail: the boom log line")
          error("boom failed")
        end)
        return Flow("Report", function() boom(shout(square:map(numbers()))) end)
        """

    /// Catches the page's errors before its script runs: uncaught exceptions, console.error,
    /// and what its Content-Security-Policy refused.
    static let catcher = """
        <script>window.__errors = []; window.addEventListener('error', (e) => __errors.push(String(e.message)));
        console.error = (...a) => __errors.push(a.join(' '));
        document.addEventListener('securitypolicyviolation', (e) => __errors.push('CSP: ' + e.violatedDirective));</script>
        """

    /// What a user does, and what the page shows after each step.
    static let probe = """
        const facts = { errors: window.__errors, pwned: typeof window.pwned, graph: document.querySelector('#graph img') !== null };
        facts.bars = {};
        for (const b of window.dkReport.bars()) facts.bars[b.attempt.task.label] = (facts.bars[b.attempt.task.label] || 0) + 1;
        const rows = () => Array.from(document.querySelectorAll('#task-rows tr'));
        const names = () => rows().map((r) => r.cells[0].textContent);
        const details = () => document.getElementById('details').textContent;
        facts.initial = names();
        const th = document.querySelector('th[data-key=task]');
        th.click(); facts.ascending = names();
        th.click(); facts.descending = names();
        rows().find((r) => r.cells[0].textContent === 'boom').click(); facts.boom = details();
        rows().find((r) => r.cells[0].textContent.endsWith('square (3 mapped)')).click(); facts.expanded = names();
        rows().find((r) => r.cells[0].textContent === 'square[1]').click(); facts.square1 = details();
        rows().find((r) => r.cells[0].textContent.startsWith('<')).click(); facts.evil = details();
        document.getElementById('probe-facts').textContent = JSON.stringify(facts);
        """

    /// The probe's findings on the report at `path`.
    static func browse(_ path: String, in dir: TempDir, probe: String = probe) throws -> [String: Any] {
        var page = try String(contentsOfFile: path, encoding: .utf8)
        page = page.replacingOccurrences(of: "<head>", with: "<head>" + catcher, range: page.range(of: "<head>"))
        page = page.replacingOccurrences(of: "</body>", with: "<pre id=\"probe-facts\"></pre><script>\(probe)</script></body>",
                                         range: page.range(of: "</body>", options: .backwards))
        try page.write(toFile: dir.file("probed.html"), atomically: true, encoding: .utf8)
        let dom = try chromium(["--dump-dom", "file://" + dir.file("probed.html")], in: dir)
        guard let start = dom.range(of: "<pre id=\"probe-facts\">"), let end = dom.range(of: "</pre>", range: start.upperBound ..< dom.endIndex)
        else { throw CLIError("no probe facts in the page Chromium loaded:\n\(dom.suffix(2000))") }
        let text = String(dom[start.upperBound ..< end.lowerBound]).replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        guard let facts = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw CLIError("the probe wrote no facts: \(text)")
        }
        return facts
    }

    /// Headless Chromium with a profile of the test's own; its stdout.
    static func chromium(_ arguments: [String], in dir: TempDir) throws -> String {
        let r = try Subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + dir.file("profile"),
                                    "--window-size=1280,900"] + arguments, timeout: 120)
        guard r.status == 0 else {
            throw CLIError("chromium exited \(r.status): \(String(decoding: r.stderr, as: UTF8.self).suffix(2000))")
        }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    @Test func aRunsReportWorksInABrowser() throws {
        let dir = try TempDir(["f.lua": Self.flow])
        let run = try CLI.run([dir.file("f.lua"), "--report", dir.file("report.html")])
        #expect(run.status == 1, "\(run.stderr)")
        let facts = try Self.browse(dir.file("report.html"), in: dir)
        #expect(facts["errors"] as? [String] == [])
        #expect(facts["pwned"] as? String == "undefined")
        #expect(facts["graph"] as? Bool == true)
        // One bar per attempt: square[1] failed its first and was retried.
        #expect(facts["bars"] as? [String: Int] == ["numbers": 1, "square[0]": 1, "square[1]": 2, "square[2]": 1, Self.evil: 1, "boom": 1])
        // Failed first, then the table sorted by name both ways.
        #expect((facts["initial"] as? [String])?.first == "boom")
        let byName = [Self.evil, "boom", "numbers", "\u{25B8}square (3 mapped)"]
        #expect(facts["ascending"] as? [String] == byName)
        #expect(facts["descending"] as? [String] == byName.reversed())
        // The mapped task opened: its children under it, sorted as the table (by name, descending).
        #expect((facts["expanded"] as? [String])?.prefix(4) == ["\u{25BE}square (3 mapped)", "square[2]", "square[1]", "square[0]"])
        let boom = facts["boom"] as? String ?? ""
        #expect(boom.contains("about to fail: the boom log line") && boom.contains("boom failed"), "\(boom)")
        let square1 = facts["square1"] as? String ?? ""
        #expect(square1.contains("square[1] attempt 1: Retrying") && square1.contains("square[1] attempt 2: Success"), "\(square1)")
        // The markup a task logged is shown as text.
        #expect((facts["evil"] as? String)?.contains("<img src=x onerror=\"window.pwned = 2\"> " + Self.evil) == true)
    }

    /// On Dask the timeline's rows are the workers that ran the attempts, named in the header.
    @Test func aDaskRunsReportHasARowPerWorker() throws {
        let cluster = try DaskCluster(workers: 2)
        defer { cluster.stop() }
        let dir = try TempDir(["f.lua": Self.flow])
        let run = try CLI.run([dir.file("f.lua"), "--executor", "dask=" + cluster.address, "--report", dir.file("report.html")])
        #expect(run.status == 1, "\(run.stderr)")
        let facts = try Self.browse(dir.file("report.html"), in: dir, probe: """
            const facts = { errors: window.__errors, bars: {}, lanes: [], header: document.querySelector('header').textContent };
            for (const b of window.dkReport.bars()) {
              facts.bars[b.attempt.task.label] = (facts.bars[b.attempt.task.label] || 0) + 1;
              facts.lanes.push(window.dkReport.lanes[b.attempt.lane]);
            }
            document.getElementById('probe-facts').textContent = JSON.stringify(facts);
            """)
        #expect(facts["errors"] as? [String] == [])
        #expect(facts["bars"] as? [String: Int] == ["numbers": 1, "square[0]": 1, "square[1]": 2, "square[2]": 1, Self.evil: 1, "boom": 1])
        let header = facts["header"] as? String ?? ""
        let workers = Set(header.matches(of: #/tcp://127\.0\.0\.1:[0-9]+/#).map { String($0.0) })
        #expect(!workers.isEmpty && workers.count <= 2, "\(header)")
        // Each bar is in a row of the worker that ran it ("ADDRESS", or "ADDRESS #2" for its second thread).
        let lanes = facts["lanes"] as? [String] ?? []
        #expect(lanes.count == 7 && lanes.allSatisfy { lane in workers.contains { lane == $0 || lane.hasPrefix($0 + " #") } }, "\(lanes)")
    }

    @Test func reportsFromTheHistoryAndFromEvents() throws {
        let home = try TempDir(["f.lua": Self.flow])
        let env = ["DKRUN_HOME": home.path]
        let run = try CLI.run([home.file("f.lua"), "--json-events"], environment: env)
        try run.stdout.write(toFile: home.file("events.jsonl"), atomically: true, encoding: .utf8)
        let list = try CLI.run(["runs", "list", "--json"], environment: env).stdout
        let runs = try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]]
        let id = try #require(runs?.first?["id"] as? String)
        let fromHistory = try CLI.run(["report", String(id.prefix(8)), "-o", home.file("h.html"), "--script", home.file("f.lua")], environment: env)
        #expect(fromHistory.status == 0, "\(fromHistory.stderr)")
        let fromEvents = try CLI.run(["report", "--events", home.file("events.jsonl"), "-o", home.file("e.html")], environment: env)
        #expect(fromEvents.status == 0, "\(fromEvents.stderr)")
        let h = try String(contentsOfFile: home.file("h.html"), encoding: .utf8)
        let e = try String(contentsOfFile: home.file("e.html"), encoding: .utf8)
        #expect(h.contains("\"svg\":") && !e.contains("\"svg\":") && e.contains("--script FLOW.lua"))
        // A script whose graph is not the run's draws no graph for it.
        try "return Flow(\"Report\", function() task(\"other\", function() end)() end)".write(
            toFile: home.file("other.lua"), atomically: true, encoding: .utf8)
        let other = try CLI.run(["report", id, "-o", home.file("o.html"), "--script", home.file("other.lua")], environment: env)
        #expect(other.status == 2 && other.stderr.contains("flow 'Report' is not the flow run \(id) ran"), "\(other.stderr)")
        // Without --script, the script the run recorded draws the graph, while it is still the run's.
        let recorded = try CLI.run(["report", id, "-o", home.file("r.html")], environment: env)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(try String(contentsOfFile: home.file("r.html"), encoding: .utf8).contains("\"svg\":"))
        try FileManager.default.removeItem(atPath: home.file("f.lua"))
        try FileManager.default.moveItem(atPath: home.file("other.lua"), toPath: home.file("f.lua"))
        let changed = try CLI.run(["report", id, "-o", home.file("c.html")], environment: env)
        #expect(changed.status == 0, "\(changed.stderr)")
        let c = try String(contentsOfFile: home.file("c.html"), encoding: .utf8)
        #expect(!c.contains("\"svg\":") && c.contains("is not the flow run \(id) ran"), "\(c.prefix(300))")
        for page in ["h.html", "e.html"] {
            let facts = try Self.browse(home.file(page), in: home)
            #expect(facts["errors"] as? [String] == [], "\(page)")
            #expect((facts["bars"] as? [String: Int])?["square[1]"] == 2, "\(page)")
        }
    }

    @Test func aGraphTooBigToDrawIsLeftOut() throws {
        let dir = try TempDir(["f.lua": """
            return Flow("Wide", function()
              for i = 1, 501 do task("t" .. i, function() end)() end
            end)
            """])
        let run = try CLI.run([dir.file("f.lua"), "-q", "--report", dir.file("report.html")])
        #expect(run.status == 0, "\(run.stderr)")
        let page = try String(contentsOfFile: dir.file("report.html"), encoding: .utf8)
        #expect(page.contains("The task graph is not drawn: the flow has 501 tasks, more than 500") && !page.contains("\"svg\":"))
    }

    @Test func aScreenshotOfAReport() throws {
        let dir = try TempDir(["f.lua": Self.flow])
        _ = try CLI.run([dir.file("f.lua"), "--report", dir.file("report.html")])
        _ = try Self.chromium(["--screenshot=" + dir.file("shot.png"), "file://" + dir.file("report.html")], in: dir)
        let png = try Data(contentsOf: URL(fileURLWithPath: dir.file("shot.png")))
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4e, 0x47]))
    }

    @Test func badInput() throws {
        let dir = try TempDir(["f.lua": Self.flow, "bad.jsonl": """
            {"event":"flow_started","flow":"f","tasks":1,"executor":"local","time":"2026-12-01T00:00:00.000Z"}
            {"event":"task_state","task":
            """])
        let env = ["DKRUN_HOME": dir.path]
        let cases: [([String], Int32, String)] = [
            (["report", "0123abcd", "-o", dir.file("r.html")], 2, "no flow run"),
            (["report", "--events", dir.file("missing.jsonl"), "-o", dir.file("r.html")], 2,
             "cannot read events: \(dir.file("missing.jsonl")): No such file or directory"),
            (["report", "--events", dir.file("bad.jsonl"), "-o", dir.file("r.html")], 2, "\(dir.file("bad.jsonl")):2: not a JSON event line"),
            (["report", "-o", dir.file("r.html")], 2, "Name a run (RUN) or an events file (--events FILE), one of them."),
            (["report", "--events", dir.file("bad.jsonl"), "-o", dir.file("r.html"), "0123"], 2, "one of them"),
            ([dir.file("f.lua"), "--report", dir.file("no/such/dir/r.html")], 1,
             "cannot write the report: \(dir.file("no/such/dir/r.html")): No such file or directory"),
        ]
        for (arguments, status, message) in cases {
            let r = try CLI.run(arguments, environment: env)
            #expect(r.status == status, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
        // The unwritable report was refused before the flow ran.
        #expect(try CLI.run(["runs", "list", "--json"], environment: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }
}
