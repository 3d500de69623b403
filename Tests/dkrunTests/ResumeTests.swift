import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua --resume [RUN]` through the built dkrun (docs/results.md, Resume): which
/// tasks run again is counted by their side effects (each task appends its name to a file),
/// not by logs, on every executor here; edits, mapped children, and bad input. Each test has
/// a DKRUN_HOME of its own.
@Suite(.timeLimit(.minutes(5))) struct ResumeTests {
    /// A flow of 5 tasks in a line whose 3rd reads a file that is not there until the test
    /// writes it. `MARKS` and `NEED` are replaced by paths in the test's directory.
    static let line = """
        local function mark(name)
          local f = assert(io.open("MARKS", "a")); f:write(name, "\\n"); f:close()
        end
        local t1 = task("t1", function() mark("t1"); return 1 end)
        local t2 = task("t2", function(x) mark("t2"); return x + 1 end)
        local t3 = task("t3", function(x)
          mark("t3")
          local f = assert(io.open("NEED")); local n = tonumber(f:read("l")); f:close()
          return x + n
        end)
        local t4 = task("t4", function(x) mark("t4"); return x * 2 end)
        local t5 = task("t5", function(x) mark("t5"); print("result " .. x) end)
        return Flow("line", function() t5(t4(t3(t2(t1())))) end)
        """

    /// Child 2 of the mapped task fails until NEED exists.
    static let mapped = """
        local function mark(name)
          local f = assert(io.open("MARKS", "a")); f:write(name, "\\n"); f:close()
        end
        local items = task("items", function() mark("items"); return { 1, 2, 3, 4 } end)
        local double = task("double", function(x)
          mark("double" .. x)
          if x == 3 then assert(io.open("NEED")):close() end
          return x * 2
        end)
        local total = task("total", function(xs)
          mark("total")
          local s = 0
          for _, x in ipairs(xs) do s = s + x end
          print("total " .. s)
        end)
        return Flow("mapped", function() total(double:map(items())) end)
        """

    final class Place {
        let dir: TempDir
        var home: String { dir.file("home") }
        var marks: String { dir.file("marks.txt") }

        init(_ flow: String) throws {
            dir = try TempDir()
            try write(flow)
        }

        func write(_ flow: String) throws {
            let text = flow.replacingOccurrences(of: "MARKS", with: marks).replacingOccurrences(of: "NEED", with: dir.file("need.txt"))
            try text.write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        }

        func fix() throws { try "5\n".write(toFile: dir.file("need.txt"), atomically: true, encoding: .utf8) }

        func dkrun(_ arguments: [String], quiet: Bool = true) throws -> CLI.Result {
            try CLI.run(["flow.lua"] + (quiet ? ["-q"] : []) + arguments, in: dir.path, environment: ["DKRUN_HOME": home])
        }

        /// The names the tasks marked since the last call, in order.
        func takeMarks() throws -> [String] {
            let text = (try? String(contentsOfFile: marks, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: marks)
            return text.split(separator: "\n").map(String.init)
        }
    }

    /// Fails at t3, is fixed, resumed (t3 to t5 run again), and resumed once more (nothing runs).
    func failFixResume(_ place: Place, _ executor: [String]) throws {
        let failed = try place.dkrun(executor)
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        #expect(try place.takeMarks() == ["t1", "t2", "t3"])
        try place.fix()
        let resumed = try place.dkrun(executor + ["--resume"])
        #expect(resumed.status == 0 && resumed.stdout.contains("result 14"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(try place.takeMarks() == ["t3", "t4", "t5"])
        let again = try place.dkrun(executor + ["--resume"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try place.takeMarks() == [])
    }

    @Test func aFixedRunResumesAtItsFailedTaskLocally() throws { try failFixResume(try Place(Self.line), []) }

    @Test func aFixedRunResumesAtItsFailedTaskOnThreads() throws {
        try failFixResume(try Place(Self.line), ["--executor", "threads=3"])
    }

    @Test func aFixedRunResumesAtItsFailedTaskOnDask() throws {
        let place = try Place(Self.line)
        // The flow names no location: the workers keep results under the test's DKRUN_HOME.
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        for _ in 0 ..< 2 { try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "DKRUN_HOME": place.home]) }
        try cluster.waitForWorkers(2)
        try failFixResume(place, ["--executor", "dask=" + cluster.address])
    }

    @Test func editingOneTaskRerunsItAndItsDownstreamOnly() throws {
        let place = try Place(Self.line)
        try place.fix()
        #expect(try place.dkrun([]).status == 0)
        #expect(try place.takeMarks() == ["t1", "t2", "t3", "t4", "t5"])
        try place.write(Self.line.replacingOccurrences(of: "return x + 1 end", with: "return x + 1 --[[ edited ]] end"))
        let r = try place.dkrun(["--resume"])
        #expect(r.status == 0 && r.stdout.contains("result 14"), "\(r.stdout)\(r.stderr)")
        // t3's input is the same value, but t2 ran again: t3 runs too (docs/results.md).
        #expect(try place.takeMarks() == ["t2", "t3", "t4", "t5"])
    }

    @Test func mappedChildrenAreResumedOneByOne() throws {
        let place = try Place(Self.mapped)
        #expect(try place.dkrun([]).status == 1)
        #expect(try place.takeMarks().sorted() == ["double1", "double2", "double3", "double4", "items"])
        try place.fix()
        let r = try place.dkrun(["--resume"])
        #expect(r.status == 0 && r.stdout.contains("total 20"), "\(r.stdout)\(r.stderr)")
        #expect(try place.takeMarks() == ["double3", "total"])
    }

    @Test func aCorruptOrMissingKeptResultRerunsItsTaskWithAWarning() throws {
        let place = try Place(Self.line)
        #expect(try place.dkrun([]).status == 1)
        _ = try place.takeMarks()
        try place.fix()
        let kept = place.home + "/results/tasks"
        let files = try FileManager.default.contentsOfDirectory(atPath: kept)
        #expect(files.count == 2, "\(files)")
        // One truncated, one removed: both t1 and t2 run again.
        for (i, f) in files.enumerated() {
            if i == 0 { try "\u{82}\u{a6}".write(toFile: kept + "/" + f, atomically: true, encoding: .utf8) } else {
                try FileManager.default.removeItem(atPath: kept + "/" + f)
            }
        }
        let r = try place.dkrun(["--resume"], quiet: false)
        #expect(r.status == 0 && r.stdout.contains("WARNING t1 | Task 't1': the stored result tasks/") != r.stdout.contains(
            "WARNING t2 | Task 't2': the stored result tasks/"), "\(r.stdout)\(r.stderr)")
        #expect(try place.takeMarks() == ["t1", "t2", "t3", "t4", "t5"])
    }

    @Test func badRunsAreRefusedNamingThem() throws {
        let place = try Place(Self.line)
        let none = try place.dkrun(["--resume"])
        #expect(none.status == 2 && none.stderr.contains("no earlier run of flow 'line'"), "\(none.stderr)")
        let unknown = try place.dkrun(["--resume", "abc123"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no flow run 'abc123'"), "\(unknown.stderr)")
        // A run of another flow.
        let other = try Place(Self.mapped)
        let otherHome = try CLI.run(["flow.lua", "-q"], in: other.dir.path, environment: ["DKRUN_HOME": place.home])
        #expect(otherHome.status == 1)
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        let wrong = try place.dkrun(["--resume", String(id.prefix(8))])
        #expect(wrong.status == 2 && wrong.stderr.contains("is a run of flow 'mapped', not of flow 'line'"), "\(wrong.stderr)")
        #expect(try place.takeMarks() == [])
    }

    @Test func aTaskTheFlowNoLongerHasIsNamedAndIgnored() throws {
        let place = try Place(Self.line)
        try place.fix()
        #expect(try place.dkrun([]).status == 0)
        _ = try place.takeMarks()
        try place.write(Self.line.replacingOccurrences(of: "t5(t4(t3(t2(t1()))))", with: "t4(t3(t2(t1())))"))
        let r = try place.dkrun(["--resume"])
        #expect(r.status == 0 && r.stderr.contains("no longer has the task(s) 't5'"), "\(r.stdout)\(r.stderr)")
        #expect(try place.takeMarks() == [])
    }
}

/// The run ids in a DKRUN_HOME's history, latest first, read with `dkrun runs --json`.
enum RunHistoryIDs {
    static func all(home: String) throws -> [String] {
        let r = try CLI.run(["runs", "--json"], environment: ["DKRUN_HOME": home])
        let runs = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return runs.compactMap { $0["id"] as? String }
    }
}
