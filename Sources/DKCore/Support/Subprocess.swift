#if canImport(Glibc)
import Glibc
#endif

/// Child processes without a shell. `run` runs a program to completion with input from
/// memory and its output captured through temporary files (no pipe deadlocks): `dkrun graph`
/// runs Graphviz with it, and `dk.shell` runs tasks' commands. `spawn` and `wait` start and
/// reap a long-lived child, such as the Dask driver.
public enum Subprocess {
    public struct Result {
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]
        public let timedOut: Bool
    }

    /// How a child ended: its exit status (128 + signal for a killed child), the signal that
    /// killed it, and whether `wait` stopped it.
    public typealias Ending = (status: Int32, signal: Int32?, timedOut: Bool)

    public struct SpawnError: CategorizedError {
        public let description: String
        public var exitStatus: ExitStatus { .failure }
    }

    /// - Parameters:
    ///   - argv: the program (looked up in PATH) and its arguments; no shell.
    ///   - environment: the child's whole environment (nil: this process's).
    ///   - directory: the child's working directory (nil: this process's).
    ///   - timeout: seconds after which the child's process group is stopped (see `wait`).
    ///   - deadline: when the group is stopped whatever the timeout (a task's deadline, Ctrl-C).
    /// - Returns: the exit status (128 + signal for a killed child), and `timedOut`.
    public static func run(_ argv: [String], input: [UInt8] = [], environment: [String]? = nil,
                           directory: String? = nil, timeout: Double? = nil, deadline: Deadline = .none) throws -> Result {
        let files = try (0 ..< 3).map { _ in try TemporaryFile() }
        defer { files.forEach { $0.remove() } }
        try Files.write(files[0].path, input)
        let fds = [open(files[0].path, O_RDONLY | O_CLOEXEC), open(files[1].path, O_WRONLY | O_TRUNC | O_CLOEXEC),
                   open(files[2].path, O_WRONLY | O_TRUNC | O_CLOEXEC)]
        defer { fds.forEach { if $0 >= 0 { close($0) } } }
        guard !fds.contains(-1) else { throw SpawnError(description: "cannot open a temporary file: \(String(cString: strerror(errno)))") }
        let pid = try spawn(argv, stdio: fds, environment: environment, directory: directory)
        let ending = try wait(pid, timeout: timeout, deadline: deadline)
        return Result(status: ending.status, stdout: try Files.read(files[1].path, limit: .programOutput),
                      stderr: try Files.read(files[2].path, limit: .programOutput), timedOut: ending.timedOut)
    }

    /// Starts a program in its own process group (so killing the group kills whatever it
    /// started too) with `stdio` as its descriptors 0, 1 and 2 (-1 keeps this process's) and
    /// no other descriptor of ours: an inherited one (a pipe of another child's, say) would
    /// stay open as long as it, or a daemon it starts, lives. Until `wait` reaps it, a second
    /// Ctrl-C kills its group (`ChildGroups`), unless it is a `daemon`, meant to outlive us.
    public static func spawn(_ argv: [String], stdio: [Int32], environment: [String]? = nil,
                             directory: String? = nil, daemon: Bool = false) throws -> pid_t {
        guard let program = argv.first else { throw SpawnError(description: "empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in stdio.enumerated() where fd >= 0 {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(target))
        }
        if spawnAddCloseFrom(&actions, 3) != 0 { throw SpawnError(description: "\(program): cannot close inherited descriptors") }
        if let directory {
            guard Files.kind(directory) == "directory", spawnAddChdir(&actions, directory) == 0 else {
                throw SpawnError(description: "\(directory): no such directory")
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A clean signal state: what this process blocks or ignores (a test runner may block
        // SIGTERM) must not make its children deaf to a stop.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var cEnv = environment.map { $0.map { strdup($0) } + [nil] }
        defer { cEnv?.forEach { free($0) } }
        var pid = pid_t()
        let rc = cEnv == nil ? posix_spawnp(&pid, program, &actions, &attributes, &cArgs, environ)
            : posix_spawnp(&pid, program, &actions, &attributes, &cArgs, &cEnv!)
        guard rc == 0 else { throw SpawnError(description: "\(program): \(String(cString: strerror(rc)))") }
        if !daemon { ChildGroups.add(pid) }
        return pid
    }

    /// Seconds a stopped process group has between SIGTERM and SIGKILL: short, so that a task
    /// whose deadline stops a program that ignores SIGTERM still ends within 0.1 s of it.
    static let stopGrace = 0.05

    /// Waits for a child. After `timeout` seconds, or when `deadline` stops the wait, its
    /// process group is stopped: SIGTERM, then SIGKILL unless the group is gone within
    /// `stopGrace` (an orphan's zombie, until init collects it, counts as there), and the child
    /// reaped: neither it nor what it started outlives the call.
    public static func wait(_ pid: pid_t, timeout: Double? = nil, deadline: Deadline = .none) throws -> Ending {
        var status: Int32 = 0
        var reaped = false
        func reap() throws -> Bool {
            if !reaped {
                let r = waitpid(pid, &status, WNOHANG)
                if r < 0 && errno != EINTR { throw SpawnError(description: "waitpid: \(String(cString: strerror(errno)))") }
                reaped = r == pid
                if reaped { ChildGroups.remove(pid) }
            }
            return reaped
        }
        let stopped = try deadline.within(timeout).wait(every: 0.002, until: reap) != nil
        if stopped {
            kill(-pid, SIGTERM)
            _ = try Deadline.none.within(stopGrace).wait(every: 0.002) { try reap() && kill(-pid, 0) != 0 }
            kill(-pid, SIGKILL)
            _ = try Deadline.none.wait(every: 0.002, until: reap)
        }
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, signal == 0 ? nil : signal, stopped)
    }

    private struct TemporaryFile {
        let path: String
        init() throws {
            var template = Array("/tmp/dkrun-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw SpawnError(description: "mkstemp: \(String(cString: strerror(errno)))") }
            close(fd)
            path = String(cString: template)
        }
        func remove() { unlink(path) }
    }
}

/// The process groups of the children `Subprocess` started and has not reaped yet (and of
/// processes another started for us, such as a driver the warm Dask driver forked), for the one
/// place that cannot wait for them: a second Ctrl-C, which kills them all before dkrun exits at
/// once (`Interruption`). Its signal handler reads the table without a lock, so the table is a
/// block of memory made once, whose slots hold a group's id or 0; changes take a lock.
public enum ChildGroups {
    private static let capacity = 1024
    private static let lock = Monitor()
    static let slots: UnsafeMutablePointer<pid_t> = {
        let p = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        p.initialize(repeating: 0, count: capacity)
        return p
    }()

    /// A full table (1024 children at once) leaves the rest to their own `wait`.
    public static func add(_ group: pid_t) {
        lock.locked {
            if let free = (0 ..< capacity).first(where: { slots[$0] == 0 }) { slots[free] = group }
        }
    }

    public static func remove(_ group: pid_t) {
        lock.locked {
            if let slot = (0 ..< capacity).first(where: { slots[$0] == group }) { slots[slot] = 0 }
        }
    }

    /// SIGKILL to every group; async-signal-safe (`slots` must have been made before).
    static func killAll() {
        for slot in 0 ..< capacity where slots[slot] > 0 { kill(-slots[slot], SIGKILL) }
    }
}

/// glibc's posix_spawn_file_actions_addchdir_np (2.29+), which Glibc's Swift module hides
/// behind _GNU_SOURCE. Its arguments are plain C pointers, so binding the symbol is safe.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnAddChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

/// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), hidden behind _GNU_SOURCE too.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
