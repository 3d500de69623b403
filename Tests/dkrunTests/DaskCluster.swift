import DKCore
import DKTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Dask cluster on 127.0.0.1 for one test: `dask scheduler` and `dask worker`
/// processes from the project's virtualenv, each in its own process group, logging to files
/// in a temporary directory. `stop()` (or deinit) kills every process it started.
final class DaskCluster {
    let dir: TempDir
    let address: String
    private(set) var workers: [pid_t] = []
    private var scheduler: pid_t = 0

    /// - Parameter schedulerEnvironment: extra variables for the scheduler (Dask config such
    ///   as DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES).
    init(workers count: Int, schedulerEnvironment: [String: String] = [:]) throws {
        dir = try TempDir()
        let file = dir.file("scheduler.json")
        scheduler = try Self.start([venvBin + "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                    "--dashboard-address", "127.0.0.1:0", "--scheduler-file", file],
                                   log: dir.file("scheduler.log"), environment: schedulerEnvironment)
        let deadline = Date().addingTimeInterval(30)
        var found: String?
        while found == nil && Date() < deadline {
            if let data = FileManager.default.contents(atPath: file),
               let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                found = info["address"] as? String
            } else {
                usleep(100_000)
            }
        }
        guard let found else {
            kill(-scheduler, SIGKILL)
            throw CLIError("the test scheduler did not start: " + ((try? String(contentsOfFile: dir.file("scheduler.log"), encoding: .utf8)) ?? ""))
        }
        address = found
        for _ in 0 ..< count { try addWorker() }
        if count > 0 { try waitForWorkers(count) }
    }

    /// Starts a worker with one thread; `environment` defaults to one that finds the dkrun
    /// the tests built (DKRUN_BINARY).
    @discardableResult
    func addWorker(environment: [String: String] = ["DKRUN_BINARY": CLI.binary], name: String? = nil,
                   resources: String? = nil) throws -> pid_t {
        var argv = [venvBin + "dask", "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                    "--dashboard-address", "127.0.0.1:0"]
        if let name { argv += ["--name", name] }
        if let resources { argv += ["--resources", resources] }
        let pid = try Self.start(argv, log: dir.file("worker-\(workers.count).log"), environment: environment)
        workers.append(pid)
        return pid
    }

    /// Waits (at most 30 s) until `n` workers have joined.
    func waitForWorkers(_ n: Int) throws {
        let script = "from distributed import Client; Client('\(address)', timeout=30).wait_for_workers(\(n), timeout=30)"
        let r = try Subprocess.run([venvBin + "python", "-c", script], timeout: 60)
        guard r.status == 0 else { throw CLIError("workers did not join: " + String(decoding: r.stderr, as: UTF8.self)) }
    }

    /// The names of the event topics the scheduler keeps (Dask keeps each one's last events
    /// for as long as it runs).
    func eventTopics() throws -> [String] {
        try schedulerNames("dask_scheduler._broker._topics", "topics")
    }

    /// The names of the semaphores the scheduler knows.
    func semaphores() throws -> [String] {
        try schedulerNames("dask_scheduler.extensions['semaphores'].max_leases", "semaphores")
    }

    /// The keys of the tasks the scheduler has given a worker (running there, or queued on it).
    func processing() throws -> [String] {
        try schedulerNames("k for k, t in dask_scheduler.tasks.items() if t.state == 'processing'", "tasks")
    }

    /// The names (key prefixes, before the run's id) of the last 1,000 Dask tasks the scheduler
    /// moved between states: `group-a..c` for a fused group, `b` for a task of its own.
    func taskNames() throws -> Set<String> {
        Set(try schedulerNames("t[0].rsplit('-', 2)[0] for t in dask_scheduler.transition_log", "tasks"))
    }

    /// The keys of a map of the scheduler's (`expression`, of `dask_scheduler`), one a line.
    private func schedulerNames(_ expression: String, _ what: String) throws -> [String] {
        let script = "from distributed import Client\n"
            + "with Client('\(address)', timeout=30) as c:\n"
            + "    print('\\n'.join(c.run_on_scheduler(lambda dask_scheduler: list(\(expression)))))"
        let r = try Subprocess.run([venvBin + "python", "-c", script], timeout: 60)
        guard r.status == 0 else { throw CLIError("cannot list the scheduler's \(what): " + String(decoding: r.stderr, as: UTF8.self)) }
        return String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func stop() {
        for pid in workers + [scheduler] where pid > 0 {
            kill(-pid, SIGKILL)
            _ = try? Subprocess.wait(pid)
        }
        workers = []
        scheduler = 0
    }

    deinit { stop() }

    /// A Dask process with no dkrun on its PATH unless `environment` gives one, and the
    /// tests' DKRUN_HOME (`CLI.home`) unless it gives another: where its dkrun keeps results.
    private static func start(_ argv: [String], log: String, environment: [String: String]) throws -> pid_t {
        var env: [String: String?] = ["DKRUN_BINARY": nil, "PATH": "/usr/bin:/bin", "DKRUN_HOME": CLI.home]
        for (name, value) in environment { env[name] = value }
        return try startServer(argv, log: log, environment: env)
    }
}

/// Processes whose environment holds `marker`: what a run left behind.
func processes(marked marker: String) -> [String] {
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
    return pids.compactMap { pid in
        guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
              env.range(of: Data(marker.utf8)) != nil,
              let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return "\(pid): " + String(decoding: cmd.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}
