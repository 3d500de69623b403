import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// The warm Dask driver (python/dkrun_dask/forkserver.py): a long-lived Python process of
/// the user's that has imported the driver and forks one for each run, which saves a run
/// the ~0.4 s of importing `distributed`. One server per DKRUN_HOME, Python, import
/// environment (PYTHON* and DASK_* variables), namespaces and cgroup, listening on a unix socket in
/// `DKRUN_HOME/run` (0700). The first run starts it; a run that finds it stale (its code
/// changed on disk), gone or wrong starts another. DKRUN_DASK_WARM_DRIVER=0 turns it off.
enum WarmDriver {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// How long a new server may take to import the driver and listen.
    static let startTimeout = 60.0

    static var enabled: Bool {
        !["0", "false", "no", "off"].contains(Files.environment("DKRUN_DASK_WARM_DRIVER")?.lowercased() ?? "")
    }

    /// Asks the server for `python` (started now if need be) to fork a driver with `stdio` as
    /// its descriptors 0, 1 and 2.
    /// - Throws: `Unavailable`, saying why, when no server can fork it.
    static func fork(python: String, stdio: [Int32]) throws -> ForkedDriver {
        let dir = Files.join(Product.home, "run")
        try privateDirectory(dir)
        let key = Digests.sha256Hex(Array(([python] + importEnvironment + placeOfProcesses).joined(separator: "\0").utf8)).prefix(12)
        let socketPath = Files.join(dir, "dask-driver-\(key).sock")
        guard socketPath.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw Unavailable(description: "the socket path \(socketPath) is too long for a unix socket")
        }
        if let connection = connect(socketPath), let driver = try request(connection, stdio: stdio) { return driver }
        // None serving, or a stale one that has given up its socket: start one, one run at a time.
        let lock = open(Files.join(dir, "dask-driver-\(key).lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX) == 0 else { throw Unavailable(description: "cannot lock \(dir): \(lastError())") }
        defer { close(lock) }
        if let connection = connect(socketPath), let driver = try request(connection, stdio: stdio) { return driver }
        try startServer(python: python, socket: socketPath, log: Files.join(dir, "dask-driver-\(key).log"))
        guard let connection = connect(socketPath) else { throw Unavailable(description: "the new server does not answer: \(lastError())") }
        guard let driver = try request(connection, stdio: stdio) else { throw Unavailable(description: "the new server is stale at once") }
        return driver
    }

    /// The variables that decide what the server imports, and how Dask configures itself
    /// when imported: the servers of two runs that differ in them are two.
    static var importEnvironment: [String] {
        Files.environmentEntries.filter { ["PYTHON", "DASK_", "LD_LIBRARY_PATH="].contains(where: $0.hasPrefix) }.sorted()
    }

    /// Where this process's children live: its namespaces (a run inside `ip netns exec` must
    /// reach that namespace's addresses) and its cgroup (its limits). A forked driver lives in
    /// its server's, so runs that differ in them have two servers.
    static var placeOfProcesses: [String] {
        ["net", "mnt", "pid", "user", "uts", "ipc", "cgroup"].map { Files.linkTarget("/proc/self/ns/" + $0) ?? $0 + ":?" }
            + [(try? Files.read("/proc/self/cgroup", limit: .source)).map { String(decoding: $0, as: UTF8.self) } ?? "cgroup:?"]
    }

    /// The server's environment: what it imports with, and no more. Each driver gets its
    /// run's; a long-lived process keeps no run's secrets.
    static var serverEnvironment: [String] {
        let basics = ["PATH", "HOME", "LANG", "TMPDIR", "DKRUN_HOME", "DKRUN_DASK_WARM_DRIVER_IDLE"].map { $0 + "=" } + ["LC_"]
        return importEnvironment + Files.environmentEntries.filter { basics.contains(where: $0.hasPrefix) }
    }

    /// Makes `dir` if need be, and checks that it is ours and nobody else's.
    private static func privateDirectory(_ dir: String) throws {
        try Files.makeDirectories(dir)
        var info = stat()
        guard stat(dir, &info) == 0 else { throw Unavailable(description: "\(dir): \(lastError())") }
        if info.st_uid != getuid() { throw Unavailable(description: "\(dir) belongs to another user") }
        if info.st_mode & 0o077 != 0 && chmod(dir, 0o700) != 0 {
            throw Unavailable(description: "\(dir) is open to other users and cannot be made private: \(lastError())")
        }
    }

    /// Starts a server on `socket` in its own process group, and waits until it listens.
    private static func startServer(python: String, socket: String, log: String) throws {
        var ready: [Int32] = [0, 0]
        guard pipe(&ready) == 0 else { throw Unavailable(description: "pipe: \(lastError())") }
        defer { close(ready[0]) }
        let logFile = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { [logFile, null].forEach { if $0 >= 0 { close($0) } } }
        do {
            // In the socket's directory, which the server leaves out of its fingerprint.
            _ = try Subprocess.spawn([python, "-m", "dkrun_dask.forkserver", socket], stdio: [null, ready[1], logFile],
                                     environment: serverEnvironment, directory: Files.directory(of: socket), daemon: true)
        } catch {
            close(ready[1])
            throw Unavailable(description: "cannot start it: \(error)")
        }
        close(ready[1])
        var p = pollfd(fd: ready[0], events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        guard poll(&p, 1, Numbers.clamped(startTimeout * 1000)) > 0, read(ready[0], &byte, 1) == 1 else {
            throw Unavailable(description: "it did not start (see \(log))")
        }
    }

    /// A connection to the server on `path`, or nil when none listens there.
    private static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in path.utf8.enumerated() { buffer[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends the fork request on `connection` (which the driver then owns).
    /// - Returns: nil when the server is stale (it has given its socket up).
    private static func request(_ connection: Int32, stdio: [Int32]) throws -> ForkedDriver? {
        let channel = FrameChannel(input: connection, output: connection)
        let request: Value = ["op": "fork", "cwd": .text(Files.currentDirectory),
                              "env": Value(textKeys: Dictionary(Files.environmentEntries.map { entry in
                                  let eq = entry.firstIndex(of: "=") ?? entry.endIndex
                                  return (String(entry[..<eq]), Value.text(String(entry[eq...].dropFirst())))
                              }, uniquingKeysWith: { first, _ in first }))]
        do {
            try sendWithDescriptors(connection, frame(request), stdio)
            guard let reply = try channel.receive() else { throw Unavailable(description: "the server closed the connection") }
            if reply["stale"] != nil {
                close(connection)
                return nil
            }
            guard let pid = reply["pid"]?.intValue else {
                throw Unavailable(description: "the server refused: \(reply["error"]?.stringValue ?? JSON.encode(reply))")
            }
            return ForkedDriver(pid: pid_t(pid), connection: channel)
        } catch {
            close(connection)
            throw error is Unavailable ? error : Unavailable(description: "the server failed: \(error)")
        }
    }

    private static func frame(_ value: Value) -> [UInt8] {
        let body = MessagePack.encode(value)
        let n = body.count
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
    }

    /// Writes `bytes` on the unix socket `fd`, the first part with `descriptors` (SCM_RIGHTS).
    private static func sendWithDescriptors(_ fd: Int32, _ bytes: [UInt8], _ descriptors: [Int32]) throws {
        // A cmsghdr, then the descriptors, padded as CMSG_SPACE does.
        let header = MemoryLayout<cmsghdr>.stride
        let data = descriptors.count * MemoryLayout<Int32>.size
        let align = MemoryLayout<Int>.size
        var control = [UInt8](repeating: 0, count: header + (data + align - 1) / align * align)
        control.withUnsafeMutableBytes { buffer in
            let cmsg = buffer.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
            cmsg.pointee.cmsg_len = header + data
            cmsg.pointee.cmsg_level = SOL_SOCKET
            cmsg.pointee.cmsg_type = Int32(SCM_RIGHTS)
            for (i, descriptor) in descriptors.enumerated() {
                buffer.storeBytes(of: descriptor, toByteOffset: header + i * MemoryLayout<Int32>.size, as: Int32.self)
            }
        }
        var sent = bytes.withUnsafeBytes { body in
            control.withUnsafeMutableBytes { control in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count)
                return withUnsafeMutablePointer(to: &vector) { vector in
                    var message = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: vector, msg_iovlen: 1,
                                         msg_control: control.baseAddress, msg_controllen: control.count, msg_flags: 0)
                    return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
        }
        guard sent > 0 else { throw Unavailable(description: "sendmsg: \(lastError())") }
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Unavailable(description: "send: \(lastError())") }
            sent += n
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// A driver the warm driver forked: not our child, so its exit status comes from the server,
/// on the connection of the request. A second Ctrl-C kills its group as it would our child's.
final class ForkedDriver {
    let pid: pid_t
    private let connection: FrameChannel
    private var status: Int32?

    init(pid: pid_t, connection: FrameChannel) {
        self.pid = pid
        self.connection = connection
        ChildGroups.add(pid)
    }

    /// Its exit status (128 + signal for a killed driver), once it has ended; nil when it has
    /// not within `timeout` seconds. When the server went away first, the driver is waited for
    /// without its status (-1).
    func wait(timeout: Double) -> Int32? {
        if let status { return status }
        status = ended(timeout: timeout)
        if status != nil { ChildGroups.remove(pid) }
        return status
    }

    private func ended(timeout: Double) -> Int32? {
        let deadline = Clock.monotonic() + timeout
        var p = pollfd(fd: connection.input, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Numbers.clamped(timeout * 1000)) > 0 else { return nil }
        if let reply = try? connection.receive(), let status = reply["exit"]?.intValue { return Int32(clamping: status) }
        // Its orphan is reaped by init: gone once kill finds nothing.
        while kill(pid, 0) == 0 || errno != ESRCH {
            if Clock.monotonic() > deadline { return nil }
            usleep(10_000)
        }
        return -1
    }

    deinit { close(connection.input) }
}
