import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua --resume [RUN]` through the built dkrun (docs/results.md, Resume): which
/// tasks run again is counted by their side effects (each task appends its name to a file),
/// not by logs, on every executor here; edits, mapped children, and bad input. Each test has
/// a DKRUN_HOME of its own.
@Suite(.timeLimit(.minutes(10))) struct ResumeTests {
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

    /// The run history says where each result is: kept in the run's file, found there by a resume.
    @Test func theHistoryShowsWhereEachResultIsKept() throws {
        let place = try Place(Self.line)
        #expect(try place.dkrun([]).status == 1)
        try place.fix()
        #expect(try place.dkrun(["--resume"]).status == 0)
        let ids = try RunHistoryIDs.all(home: place.home)
        let location = "in \(ResultLocation.local(dir: place.home + "/results"))"
        let failed = try CLI.run(["runs", "show", ids[1]], environment: ["DKRUN_HOME": place.home])
        let t1 = try #require(failed.stdout.split(separator: "\n").first { $0.hasPrefix("t1 ") })
        #expect(t1.contains("runs/\(ids[1])/kept (record ") && t1.contains(location), "\(failed.stdout)")
        let resumed = try CLI.run(["runs", "show", ids[0]], environment: ["DKRUN_HOME": place.home])
        let lines = resumed.stdout.split(separator: "\n")
        // Cached t1 is kept again by the resume, for a resume of it; t3 ran.
        for task in ["t1 ", "t3 "] {
            let line = try #require(lines.first { $0.hasPrefix(task) })
            #expect(line.contains("runs/\(ids[0])/kept (record ") && line.contains(location), "\(resumed.stdout)")
        }
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

    @Test func aCorruptOrCutShortKeptRecordRerunsItsTaskWithAWarning() throws {
        let place = try Place(Self.mapped)
        #expect(try place.dkrun([]).status == 1)
        _ = try place.takeMarks()
        try place.fix()
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        let path = place.home + "/results/runs/\(id)/kept"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Records in the order the children ended here: items, double1, double2, double4.
        let marks = (0 ..< bytes.count - 3).filter { bytes[$0 ..< $0 + 4].elementsEqual(Array("DKK1".utf8)) }
        #expect(marks.count == 4, "\(marks)")
        // double4's record cut short (a run killed while writing), a byte of double2's changed.
        bytes.removeLast(3)
        bytes[(marks[2] + marks[3]) / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try place.dkrun(["--resume"], quiet: false)
        #expect(r.status == 0 && r.stdout.contains("total 20"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("the last record (at byte \(marks[3])): cut short, skipped"), "\(r.stdout)")
        #expect(r.stdout.contains("the record at byte \(marks[2]): corrupt, skipped"), "\(r.stdout)")
        #expect(try place.takeMarks() == ["double2", "double3", "double4", "total"])
    }

    @Test func runsRmRemovesWhatARunKept() throws {
        let place = try Place(Self.line)
        #expect(try place.dkrun([]).status == 1)
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        #expect(FileManager.default.fileExists(atPath: place.home + "/results/runs/\(id)/kept"))
        let rm = try CLI.run(["runs", "rm", id], environment: ["DKRUN_HOME": place.home])
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect(!FileManager.default.fileExists(atPath: place.home + "/results/runs/\(id)"))
    }

    @Test func aMissingKeptFileRerunsEverything() throws {
        let place = try Place(Self.line)
        #expect(try place.dkrun([]).status == 1)
        _ = try place.takeMarks()
        try place.fix()
        try FileManager.default.removeItem(atPath: place.home + "/results/runs")
        let r = try place.dkrun(["--resume"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try place.takeMarks() == ["t1", "t2", "t3", "t4", "t5"])
    }

    /// A flow that names a result location keeps there what a resume reads, under runs/RUN/:
    /// Dask workers whose own DKRUN_HOME is elsewhere write it there, and the resume finds it.
    @Test func resultsAreKeptInTheFlowsLocationWhenItNamesOne() throws {
        let place = try Place(Self.line.replacingOccurrences(of: "return Flow(\"line\", function()",
                                                             with: "return Flow(\"line\", { result = dk.results.Local{ dir = \"STORE\" } }, function()"))
        try place.write(try String(contentsOfFile: place.dir.file("flow.lua"), encoding: .utf8)
            .replacingOccurrences(of: "STORE", with: place.dir.file("store")))
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        for _ in 0 ..< 2 {
            try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "DKRUN_HOME": place.dir.file("worker-home")])
        }
        try cluster.waitForWorkers(2)
        try failFixResume(place, ["--executor", "dask=" + cluster.address])
        let runs = try FileManager.default.contentsOfDirectory(atPath: place.dir.file("store/runs"))
        #expect(runs.count == 3)
        #expect(!FileManager.default.fileExists(atPath: place.dir.file("worker-home/results")))
        // A run here keeps them in the location's one file per run.
        let local = try place.dkrun(["--resume"])
        #expect(local.status == 0, "\(local.stdout)\(local.stderr)")
        #expect(try place.takeMarks() == [])
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        #expect(FileManager.default.fileExists(atPath: place.dir.file("store/runs/\(id)/kept")))
    }

    @Test func aKubernetesResumeNeedsAFlowLocationEveryPodReaches() throws {
        let place = try Place(Self.line.replacingOccurrences(of: "return Flow(\"line\", function()",
                                                             with: "return Flow(\"line\", { run_config = KubernetesRun {} }, function()"))
        let environment = ["DKRUN_HOME": place.home, "KUBECONFIG": "/nonexistent/config"]
        let refused = try CLI.run(["flow.lua", "--resume", "--dry-run"], in: place.dir.path, environment: environment)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--resume: flow 'line' runs on Kubernetes, and with no result location named, the results a "
            + "resume reads are kept in \(ResultLocation.local(dir: place.home + "/results")), which each pod has on its own disk"),
                "\(refused.stderr)")
        // With one every pod reaches, the run to resume is found and handed to the Job's pod.
        try place.fix()
        #expect(try place.dkrun(["--executor", "local"]).status == 0)
        try place.write(Self.line.replacingOccurrences(of: "return Flow(\"line\", function()", with: "return Flow(\"line\", { "
            + "run_config = KubernetesRun {}, result = dk.results.S3{ bucket = \"b\" } }, function()"))
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        let accepted = try CLI.run(["flow.lua", "--resume", "--dry-run"], in: place.dir.path, environment: environment)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains("name: DKRUN_RESUMES\n") && accepted.stdout.contains(id), "\(accepted.stdout)")
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

    /// Waits at `approve` (manual_only) and at `check` (dk.pause() while NEED is missing);
    /// `start` takes a parameter.
    static let paused = """
        local function mark(name)
          local f = assert(io.open("MARKS", "a")); f:write(name, "\\n"); f:close()
        end
        local n = Parameter("n", { default = 1 })
        local start = task("start", function(n) mark("start"); return n * 10 end)
        local approve = task("approve", { trigger = dk.triggers.manual_only }, function(x) mark("approve"); return x + 1 end)
        local check = task("check", function(x)
          mark("check")
          if not io.open("NEED") then dk.pause("waiting for NEED") end
          return x + 1
        end)
        local finish = task("finish", function(x) mark("finish"); print("finished " .. x) end)
        return Flow("paused", function() finish(check(approve(start(n)))) end)
        """

    @Test func resumeGoesOnWithAPausedRunApprovingWhatWaits() throws {
        let place = try Place(Self.paused)
        try place.fix()
        let first = try place.dkrun(["--param", "n=4"])
        #expect(first.status == 3, "\(first.stdout)\(first.stderr)")
        #expect(try place.takeMarks() == ["start"])
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        // From another directory: the history names the script by its absolute path.
        let resumed = try CLI.run(["resume", String(id.prefix(8)), "-q"], environment: ["DKRUN_HOME": place.home])
        #expect(resumed.status == 0 && resumed.stdout.contains("finished 42"), "\(resumed.stdout)\(resumed.stderr)")
        // `start` ran once; dk.pause() returns in an approved task.
        #expect(try place.takeMarks() == ["approve", "check", "finish"])
        // The resume is a run of its own; the paused run stays as it was.
        let ids = try RunHistoryIDs.all(home: place.home)
        #expect(ids.count == 2 && ids.last == id)
        let again = try CLI.run(["resume", ids[0]], environment: ["DKRUN_HOME": place.home])
        #expect(again.status == 2 && again.stderr.contains("is not paused (it is Success)"), "\(again.stderr)")
    }

    @Test func aRunPausedByDkPauseWaitsUntilResumed() throws {
        let place = try Place(Self.paused.replacingOccurrences(of: "{ trigger = dk.triggers.manual_only }, ", with: ""))
        #expect(try place.dkrun([]).status == 3)
        #expect(try place.takeMarks() == ["start", "approve", "check"])
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        let resumed = try CLI.run(["resume", id], environment: ["DKRUN_HOME": place.home])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(try place.takeMarks() == ["check", "finish"])
    }

    @Test func resumeRefusesAnUnknownRunOrAGoneScript() throws {
        let place = try Place(Self.paused)
        let unknown = try CLI.run(["resume", "abc123"], environment: ["DKRUN_HOME": place.home])
        #expect(unknown.status == 2 && unknown.stderr.contains("no flow run 'abc123'"), "\(unknown.stderr)")
        #expect(try place.dkrun([]).status == 3)
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        try FileManager.default.removeItem(atPath: place.dir.file("flow.lua"))
        let gone = try CLI.run(["resume", id], environment: ["DKRUN_HOME": place.home])
        #expect(gone.status == 2 && gone.stderr.contains("its script \(place.dir.file("flow.lua")) is gone"), "\(gone.stderr)")
    }

    /// A fused chain of one task definition passing one value on: its tasks have one identity,
    /// whose result the Dask worker's task server writes once (the first task's), not once
    /// per task; a resume takes it for all three.
    /// A Dask worker's task server appends the results it keeps to a file of its own,
    /// `runs/RUN/kept-WRITER`; a resume reads it, and a record cut short there (a worker
    /// killed while writing) runs its task again with a warning naming the file.
    @Test func aDaskWorkerAppendsItsKeptResultsToAFileOfItsOwn() throws {
        let place = try Place("""
            local function mark(name)
              local f = assert(io.open("MARKS", "a")); f:write(name, "\\n"); f:close()
            end
            local step = task("step", function(x) mark("step" .. x); return x + 1 end)
            local show = task("show", { checkpoint = false }, function(x) print("result " .. x) end)
            return Flow("steps", function() show(step(step(step(0)))) end)
            """)
        let cluster = try DaskCluster(workers: 0)
        defer { cluster.stop() }
        try cluster.addWorker(environment: ["DKRUN_BINARY": CLI.binary, "DKRUN_HOME": place.home])
        try cluster.waitForWorkers(1)
        let executor = ["--executor", "dask=" + cluster.address]
        let run = try place.dkrun(executor)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try place.takeMarks() == ["step0", "step1", "step2"])
        let id = try #require(try RunHistoryIDs.all(home: place.home).first)
        let dir = place.home + "/results/runs/\(id)"
        // One worker thread: one task server, one file of step's three records (show keeps
        // nothing); no file per result.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count == 1 && files[0].hasPrefix("kept-"), "\(files)")
        let path = dir + "/" + files[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let marks = (0 ..< bytes.count - 3).filter { bytes[$0 ..< $0 + 4].elementsEqual(Array("DKK1".utf8)) }
        #expect(marks.count == 3, "\(marks)")
        bytes.removeLast(3)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let resumed = try place.dkrun(executor + ["--resume"], quiet: false)
        #expect(resumed.status == 0 && resumed.stdout.contains("result 3"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(resumed.stdout.contains("kept results \(path): the last record (at byte \(marks[2])): cut short, skipped"),
                "\(resumed.stdout)")
        #expect(try place.takeMarks() == ["step2"])
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
