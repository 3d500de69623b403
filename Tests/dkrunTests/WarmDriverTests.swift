import DKCore
import DKTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The warm Dask driver servers (python/dkrun_dask/forkserver.py) of a DKRUN_HOME.
enum WarmDrivers {
    /// Their pids, from their pid files.
    static func pids(home: String) -> [pid_t] {
        let dir = home + "/run"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".pid") } ?? []
        return files.flatMap { (try? processIDs(in: dir + "/" + $0)) ?? [] }.sorted()
    }

    /// Stops them (SIGTERM) and waits until they are gone.
    static func stop(home: String) {
        for pid in pids(home: home) {
            kill(pid, SIGTERM)
            _ = stopsRunning(pid)
        }
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: pid_t) -> [pid_t] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid_t($0) } ?? []
        return all.filter { child in
            // /proc/PID/stat: "pid (comm) state ppid pgrp ...", comm may hold spaces.
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == pid
        }
    }

    /// The process group of `pid`.
    static func group(of pid: pid_t) -> pid_t { getpgid(pid) }
}

/// The warm driver: runs share one server, which forks each run's driver; a stale, killed or
/// broken server never costs a run more than a start of its own. Every test has its own
/// DKRUN_HOME and stops the servers it started.
@Suite struct WarmDriverTests {
    /// A flow whose one task writes `started`, then waits until `go` exists.
    static func waitingFlow(_ dir: TempDir) -> String {
        """
        local wait = task("wait", function()
          io.open("\(dir.file("started"))", "w"):close()
          while not io.open("\(dir.file("go"))") do os.execute("sleep 0.05") end
          return "went"
        end)
        return Flow("waits", function() wait() end)
        """
    }

    /// Waits until `file` exists (or fails, after 60 s or when `process` has ended).
    static func waitFor(_ file: String, while process: Process) throws {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: file) {
            guard process.isRunning, Date() < deadline else { throw CLIError("\(file) never appeared") }
            usleep(10_000)
        }
    }

    /// A copy of python/dkrun_dask in `dir`/python, for a PYTHONPATH of a test's own.
    static func copyOfThePackage(in dir: TempDir) throws -> String {
        let python = dir.file("python")
        try FileManager.default.createDirectory(atPath: python, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.repoRoot + "/python/dkrun_dask", toPath: python + "/dkrun_dask")
        return python
    }

    @Test func twoRunsInARowShareTheServerWhichForksEachDriver() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let env = ["DKRUN_HOME": home.path]
        let first = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let servers = WarmDrivers.pids(home: home.path)
        try #require(servers.count == 1, "the first run started a server")
        #expect(WarmDrivers.children(of: servers[0]).isEmpty, "its driver has ended")

        let dir = try TempDir()
        try Self.waitingFlow(dir).write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let second = CLI.start([dir.file("flow.lua"), "--executor", "dask=" + cluster.address], environment: env)
        try second.run()
        try Self.waitFor(dir.file("started"), while: second)
        let drivers = WarmDrivers.children(of: servers[0])
        #expect(drivers.count == 1, "the second run's driver is the server's child: \(drivers)")
        #expect(drivers.map(WarmDrivers.group) == drivers, "in a process group of its own")
        #expect(FileManager.default.createFile(atPath: dir.file("go"), contents: nil))
        let r = CLI.finish(second)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("— 1 Success"), "\(r.stdout)")
        #expect(WarmDrivers.pids(home: home.path) == servers, "the same server serves on")
        #expect(isRunning(servers[0]))
    }

    @Test func runsAtOnceShareOneServer() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let runs = (0 ..< 3).map { _ in
            CLI.start(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: ["DKRUN_HOME": home.path])
        }
        for run in runs { try run.run() }
        for r in runs.map(CLI.finish) {
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("shout | HELLO, WORLD!"), "\(r.stdout)")
        }
        #expect(WarmDrivers.pids(home: home.path).count == 1, "one server for the three runs")
    }

    @Test func aChangedFingerprintRestartsTheServer() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let dir = try TempDir()
        let python = try Self.copyOfThePackage(in: dir)
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let env = ["DKRUN_HOME": home.path, "PYTHONPATH": python]
        let run = { try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: env) }
        #expect(try run().status == 0)
        let before = WarmDrivers.pids(home: home.path)
        try #require(before.count == 1)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: python + "/dkrun_dask/frames.py"))
        handle.seekToEndOfFile()
        handle.write(Data("# changed\n".utf8))
        handle.closeFile()
        let r = try run()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(stopsRunning(before[0]), "the stale server exited")
        let after = WarmDrivers.pids(home: home.path)
        #expect(after.count == 1 && after != before, "another one serves: \(after)")
    }

    @Test func aServerKilledMidRunLeavesTheRunToFinishAndTheNextRunStartsAnother() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let env = ["DKRUN_HOME": home.path]
        let dir = try TempDir()
        try Self.waitingFlow(dir).write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let process = CLI.start([dir.file("flow.lua"), "--executor", "dask=" + cluster.address], environment: env)
        try process.run()
        try Self.waitFor(dir.file("started"), while: process)
        let killed = WarmDrivers.pids(home: home.path)
        try #require(killed.count == 1)
        kill(killed[0], SIGKILL)
        #expect(stopsRunning(killed[0]))
        #expect(FileManager.default.createFile(atPath: dir.file("go"), contents: nil))
        let r = CLI.finish(process)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("— 1 Success"), "\(r.stdout)")

        let next = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address, "--verbose"], environment: env)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!next.stdout.contains("warm Dask driver"), "no fallback: \(next.stdout)")
        let servers = WarmDrivers.pids(home: home.path)
        #expect(servers.count == 1 && servers != killed, "\(servers)")
    }

    @Test func aServerThatCannotStartFallsBackAndSaysWhyWithVerbose() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let dir = try TempDir()
        let python = try Self.copyOfThePackage(in: dir)
        try "raise SystemExit('broken on purpose')\n".write(toFile: python + "/dkrun_dask/forkserver.py", atomically: true, encoding: .utf8)
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let env = ["DKRUN_HOME": home.path, "PYTHONPATH": python]
        let quiet = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: env)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stdout.contains("warm Dask driver"), "not said without --verbose: \(quiet.stdout)")
        let verbose = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address, "--verbose"], environment: env)
        #expect(verbose.status == 0, "\(verbose.stderr)")
        #expect(verbose.stdout.contains("shout | HELLO, WORLD!"), "\(verbose.stdout)")
        #expect(verbose.stdout.contains("the warm Dask driver cannot fork this run's driver, so dkrun starts it: it did not start (see "),
                "\(verbose.stdout)")
        #expect(WarmDrivers.pids(home: home.path).isEmpty)
    }

    @Test func turnedOffItStartsNoServer() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let r = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address],
                            environment: ["DKRUN_HOME": home.path, "DKRUN_DASK_WARM_DRIVER": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(WarmDrivers.pids(home: home.path).isEmpty)
    }

    @Test func aSignalStopsTheRunAndLeavesTheServerServing() throws {
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let cluster = try DaskCluster(workers: 1)
        defer { cluster.stop() }
        let env = ["DKRUN_HOME": home.path]
        #expect(try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: env).status == 0)
        let servers = WarmDrivers.pids(home: home.path)
        try #require(servers.count == 1)
        let dir = try TempDir()
        try Self.waitingFlow(dir).write(toFile: dir.file("flow.lua"), atomically: true, encoding: .utf8)
        let process = CLI.start([dir.file("flow.lua"), "--executor", "dask=" + cluster.address, "--json-events"], environment: env)
        try process.run()
        try Self.waitFor(dir.file("started"), while: process)
        let drivers = WarmDrivers.children(of: servers[0])
        kill(process.processIdentifier, SIGINT)
        let r = CLI.finish(process)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(try StoppingTests.states(r.stdout).last?.hasPrefix("wait Cancelled") == true, "\(r.stdout)")
        for driver in drivers { #expect(stopsRunning(driver), "the driver \(driver) ended") }
        #expect(isRunning(servers[0]), "the server serves on")
        let next = try CLI.run(["examples/hello.lua", "--executor", "dask=" + cluster.address], environment: env)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(WarmDrivers.pids(home: home.path) == servers)
    }

    @Test func theDriversStderrIsDkrunsOwn() throws {
        // With debug = true and silence_logs at INFO a temporary cluster logs to the driver's
        // stderr; what dkrun prints of the run goes on as usual.
        let home = try TempDir()
        defer { WarmDrivers.stop(home: home.path) }
        let dir = try TempDir(["flow.lua": """
            local hello = task("hello", function() print("hello from the task") end)
            local flow = Flow("debug", function() hello() end)
            flow.executor = DaskExecutor { debug = true, cluster_kwargs = { silence_logs = 20, n_workers = 1, threads_per_worker = 1 } }
            return flow
            """])
        for _ in 0 ..< 2 {  // the run that starts the server, and one it forks
            let r = try CLI.run([dir.file("flow.lua")], environment: ["DKRUN_HOME": home.path])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("hello | hello from the task"), "\(r.stdout)")
            #expect(r.stderr.contains("distributed.scheduler - INFO"), "\(r.stderr)")
        }
        #expect(WarmDrivers.pids(home: home.path).count == 1)
    }
}
