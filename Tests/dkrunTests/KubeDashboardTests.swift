import DKCore
import DKTestSupport
import Foundation
import Testing

/// `dkrun k8s dashboard`: a Kubernetes Dask run's dashboard on a local port, forwarded
/// through the test cluster's service proxy with dkrun's own client.
@Suite(.serialized, .timeLimit(.minutes(5))) struct KubeDashboardTests {
    /// The first line a started dkrun prints (the dashboard's URL), read while it runs.
    func firstLine(of process: Process) -> String {
        let out = (process.standardOutput as! Pipe).fileHandleForReading
        var bytes: [UInt8] = []
        while !bytes.contains(10) {
            let chunk = out.availableData
            if chunk.isEmpty { break }  // it ended
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func url(in line: String) throws -> String {
        try #require(line.firstMatch(of: #/http://127\.0\.0\.1:[0-9]+/status/#).map { String($0.0) }, "\(line)")
    }

    /// curl inside the cluster's network (where the dashboard listens): status code, then body.
    func fetch(_ c: KubesimCluster, _ url: String) throws -> (Int, String) {
        let r = try c.exec(["curl", "-s", "-w", "\n%{http_code}", url])
        let code = Int(r.stdout.split(separator: "\n").last ?? "") ?? 0
        return (code, String(r.stdout.dropLast(String(code).count)))
    }

    @Test func servesARunsDashboardByServiceAndByRunUntilCtrlC() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let home = try TempDir()
        let env = ["DKRUN_HOME": home.path]
        let flow = c.dir.file("slow.lua")
        try """
            local slow = task("slow", function() dk.time.sleep(1000) end)
            return Flow("Slow", { environment = DaskKubernetesEnvironment {} }, function() slow() end)
            """.write(toFile: flow, atomically: true, encoding: .utf8)
        let run = try c.startDkrun([flow], environment: env)
        var scheduler: String?
        let deadline = Date().addingTimeInterval(120)
        while scheduler == nil && Date() < deadline {
            scheduler = c.kubectl(["get", "services", "-l", "dkrun.io/component=scheduler", "-o", "jsonpath={.items[*].metadata.name}"])
                .split(separator: " ").first.map(String.init)
            Thread.sleep(forTimeInterval: 0.3)
        }
        let service = try #require(scheduler)
        let byService = try c.startDkrun(["k8s", "dashboard", "--service", service, "--port", "0"], environment: env)
        let status = try url(in: firstLine(of: byService))
        var page = (0, "")
        while !page.1.contains("Dask") && Date() < deadline {  // the scheduler's dashboard may take a moment to listen
            page = try fetch(c, status)
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(page.0 == 200 && page.1.contains("<title>Dask Diagnostic UI</title>"), "\(page.1.prefix(500))")

        // A port in use is bad input.
        let port = try #require(status.firstMatch(of: #/:([0-9]+)\//#)?.output.1)
        let taken = try c.exec([CLI.binary, "k8s", "dashboard", "--service", service, "--port", String(port)], environment: env)
        #expect(taken.status == 2 && taken.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(taken.stderr)")

        // By the run's id prefix: its log names the scheduler's Service.
        let runs = try c.exec([CLI.binary, "runs", "list", "--json"], environment: env).stdout
        let id = try #require((try JSONSerialization.jsonObject(with: Data(runs.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        let byRun = try c.startDkrun(["k8s", "dashboard", String(id.prefix(8)), "--port", "0"], environment: env)
        let first = firstLine(of: byRun)
        #expect(first.contains("default/\(service)"), "\(first)")
        let viaRun = try fetch(c, try url(in: first))
        #expect(viaRun.0 == 200 && viaRun.1.contains("<title>Dask Diagnostic UI</title>"), "\(viaRun.1.prefix(500))")
        byRun.interrupt()
        let runDashboard = CLI.finish(byRun)
        #expect(runDashboard.status == 0, "\(runDashboard.stderr)")

        // The run ends and takes its scheduler's Service: the page says so.
        run.interrupt()
        let r = CLI.finish(run)
        #expect(r.status == 130, "\(r.stdout)\(r.stderr)")
        let gone = try fetch(c, status)
        #expect(gone.0 == 502 && gone.1.contains("service \(service) in namespace default is gone"), "\(gone)")
        byService.interrupt()
        let serviceDashboard = CLI.finish(byService)
        #expect(serviceDashboard.status == 0 && serviceDashboard.stderr.contains("service \(service) in namespace default is gone"),
                "\(serviceDashboard.stderr)")
        let after = try c.exec([CLI.binary, "k8s", "dashboard", String(id.prefix(8))], environment: env)
        #expect(after.status == 2 && after.stderr.contains("has the run ended?"), "\(after.stderr)")
        c.expectNothingLeft()
    }

    /// A run that is not in the history, or that had no Dask cluster on Kubernetes: bad input.
    @Test func aRunWithoutAKubernetesDaskClusterIsBadInput() throws {
        let home = try TempDir(["f.lua": "return Flow(\"Here\", function() task(\"t\", function() end)() end)"])
        let env = ["DKRUN_HOME": home.path]
        #expect(try CLI.run([home.file("f.lua")], environment: env).status == 0)
        let unknown = try CLI.run(["k8s", "dashboard", "ffffffff"], environment: env)
        #expect(unknown.status == 2 && unknown.stderr.contains("ffffffff"), "\(unknown.stderr)")
        let list = try CLI.run(["runs", "list", "--json"], environment: env).stdout
        let id = try #require((try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        let local = try CLI.run(["k8s", "dashboard", id], environment: env)
        #expect(local.status == 2 && local.stderr.contains("had no Dask cluster on Kubernetes"), "\(local.stderr)")
    }
}
