import DKTestSupport
import Foundation
import Testing

/// `dkrun FLOW.lua` with Prefect 1's paused runs, mapped children and loops: exit codes,
/// what the run prints, the summary's counts.
@Suite struct PrefectFeatureCommandTests {
    static let paused = """
        local start = task("start", function() return 1 end)
        local wait_here = task("wait_here", function(x) dk.pause("waiting for approval") end)
        local after = task("after", function(x) return "after" end)
        return Flow("paused", function() after(wait_here(start())) end)
        """

    @Test(arguments: ["local", "threads=2"])
    func aPausedFlowExitsThreeAndNamesThePausedTask(executor: String) throws {
        let dir = try TempDir(["paused.lua": Self.paused])
        let r = try CLI.run([dir.file("paused.lua"), "--executor", executor])
        #expect(r.status == 3)
        #expect(r.lines.contains { $0.wholeMatch(of: #/[0-9:.]+ INFO    wait_here: Paused \(.*\): waiting for approval/#) != nil }, "\(r.stdout)")
        #expect(r.lines.contains { $0.hasSuffix(" INFO    after: Pending: Waiting for a paused upstream task") }, "\(r.stdout)")
        let summary = r.lines.suffix(2)
        #expect(summary.first?.wholeMatch(of: #/Flow 'paused': Paused in .* — 1 Pending, 1 Success, 1 Paused/#) != nil, "\(r.stdout)")
        #expect(summary.last == "  Paused: wait_here waits for approval. dkrun cannot resume a paused run yet: run the flow again to go on")
        #expect(r.stderr.isEmpty)
        // Quiet, the summary still names the paused task.
        let quiet = try CLI.run([dir.file("paused.lua"), "--executor", executor, "-q"])
        #expect(quiet.status == 3)
        #expect(quiet.lines.last?.hasPrefix("  Paused: wait_here waits for approval.") == true, "\(quiet.stdout)")

        let json = try CLI.run([dir.file("paused.lua"), "--executor", executor, "--json-events"])
        #expect(json.status == 3)
        let end = try #require(try events(json.stdout).last)
        #expect(end["event"] as? String == "flow_finished")
        #expect(end["state"] as? String == "Paused")
        #expect(end["message"] as? String == "Paused: wait_here waits for approval")
    }

    @Test(arguments: ["local", "threads=2"])
    func theSummaryCountsMappedChildren(executor: String) throws {
        let dir = try TempDir(["children.lua": """
            local numbers = task("numbers", function() return { 1, 2, 3 } end)
            local check = task("check", function(x) if x == 2 then error("two", 0) end return x end)
            return Flow("children", function() check:map(numbers()) end)
            """])
        let r = try CLI.run([dir.file("children.lua"), "--executor", executor])
        #expect(r.status == 1)
        #expect(r.lines.contains { $0.hasPrefix("Flow 'children': Failed in ") && $0.hasSuffix(" — 3 Success, 1 Failed, 1 Mapped") }, "\(r.stdout)")
        #expect(r.lines.contains("  Failed: check[1] — two"), "\(r.stdout)")
    }

    /// A looping task is not done until its last iteration: the progress line never counts
    /// more tasks done than the flow has.
    @Test func loopsAreNotCountedDoneOnTheProgressLine() throws {
        let dir = try TempDir(["loop.lua": """
            local count = task("count", function()
              local n = dk.context.loop_result or 0
              if n < 5 then dk.loop(n + 1) end
              return n
            end)
            -- Long enough for the progress line to be drawn again after it (at most every 100 ms).
            local slow = task("slow", function(x) local t0 = os.clock() while os.clock() - t0 < 0.3 do end return x end)
            return Flow("loops", function() slow(count()) end)
            """])
        // script(1) gives dkrun a pseudo-terminal, as a person's shell would.
        let r = try Process.runCapturing("/usr/bin/script", ["-qfec", "\(CLI.binary) \(dir.file("loop.lua"))", "/dev/null"])
        let done = r.matches(of: #/\[(\d+)\/2 done\]/#).map { Int($0.output.1)! }
        #expect(done.contains(2), "\(r)")
        #expect(done.allSatisfy { $0 <= 2 }, "\(done)")
    }
}
