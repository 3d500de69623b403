import DKCore
import DKTestSupport
import Foundation
import Testing

/// Seeing a Dask run: the performance report a DaskExecutor asks for, on real Dask processes.
@Suite(.timeLimit(.minutes(3))) struct DaskObservabilityTests {
    static let flow = """
        local square = task("square", function(x) return x * x end)
        local total = task("total", function(xs) local s = 0 for _, x in ipairs(xs) do s = s + x end return s end)
        local flow = Flow("reported", function() total(square:map({ 1, 2, 3 })) end)
        flow.executor = DaskExecutor { address = "%ADDRESS%", performance_report_path = "%PATH%" }
        return flow
        """

    /// The flow's script, written into `dir`, run on the scheduler at `address`.
    static func script(in dir: TempDir, address: String, reportPath: String) throws -> String {
        let path = dir.file("report.lua")
        try flow.replacingOccurrences(of: "%PATH%", with: reportPath).replacingOccurrences(of: "%ADDRESS%", with: address)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aRunWritesDasksPerformanceReportRelativeToTheDirectoryDkrunRunsIn() throws {
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let dir = try TempDir()
        let cwd = try TempDir()
        let r = try CLI.run([try Self.script(in: dir, address: cluster.address, reportPath: "perf.html")], in: cwd.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Dask's performance report of the run: \(cwd.file("perf.html"))"), "\(r.stdout)")
        let page = try String(contentsOfFile: cwd.file("perf.html"), encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>") || page.hasPrefix("<html"))
        #expect(page.contains("Dask Performance Report") && page.contains("Task Stream"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("perf.html")))
    }

    @Test func aReportPathThatCannotBeWrittenIsRefusedBeforeTheRun() throws {
        let dir = try TempDir()
        // No scheduler listens there: the path is refused before anything connects.
        for (path, why) in [("missing/perf.html", "/missing of 'missing/perf.html' does not exist"), (".", ": '.' is a directory")] {
            let r = try CLI.run([try Self.script(in: dir, address: "tcp://127.0.0.1:9", reportPath: path)], in: dir.path)
            #expect(r.status == 2, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("\n  DaskExecutor.performance_report_path: ") && r.stdout.contains(why), "\(r.stdout)")
            #expect(!r.stdout.contains("Dask scheduler"))
        }
        let wrongType = try TempDir(["t.lua": """
            local flow = Flow("t", function() end)
            flow.executor = DaskExecutor { performance_report_path = 3 }
            return flow
            """])
        let r = try CLI.run([wrongType.file("t.lua")])
        #expect(r.status == 2)
        #expect(r.stderr.contains("performance_report_path"), "\(r.stderr)")
    }

    @Test func aReportIsRefusedOnKubernetesWhereItWouldBeDeletedWithThePod() throws {
        let dir = try TempDir(["k.lua": """
            local flow = Flow("k", function() task("t", function() end)() end)
            flow.run_config = KubernetesRun { image = "dkrun:test" }
            flow.executor = DaskExecutor { performance_report_path = "perf.html" }
            return flow
            """])
        let r = try CLI.run([dir.file("k.lua"), "--dry-run"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("DaskExecutor.performance_report_path: flow 'k' runs on Kubernetes"), "\(r.stderr)")
    }
}
