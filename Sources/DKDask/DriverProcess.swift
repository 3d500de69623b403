import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// The Python side of a Dask run (`python -m dkrun_dask.driver`, or the same forked by the
/// warm driver) as a process in its own process group: frames go to its stdin, events come
/// from its stdout, its stderr is ours. Closing our end of its stdin tells it to cancel.
final class DriverProcess {
    let pid: pid_t
    /// Set when the warm driver forked it (it is not our child then).
    private let forked: ForkedDriver?
    private let channel: FrameChannel

    struct BridgeError: CategorizedError {
        let description: String
        var exitStatus: ExitStatus { .failure }
    }

    /// - Parameters:
    ///   - warm: ask the warm driver (`WarmDriver`) to fork it, and start it ourselves when
    ///     that fails, saying why to `fellBack`.
    init(python: String, warm: Bool = false, fellBack: (String) -> Void = { _ in }) throws {
        var toDriver: [Int32] = [0, 0]
        var fromDriver: [Int32] = [0, 0]
        guard pipe(&toDriver) == 0, pipe(&fromDriver) == 0 else {
            throw BridgeError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        // Only the driver gets these, as its stdin and stdout, not other children of ours.
        for fd in toDriver + fromDriver { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var forked: ForkedDriver?
        if warm && WarmDriver.enabled {
            do {
                forked = try WarmDriver.fork(python: python, stdio: [toDriver[0], fromDriver[1], STDERR_FILENO])
            } catch {
                fellBack("the warm Dask driver cannot fork this run's driver, so dkrun starts it: \(error)")
            }
        }
        self.forked = forked
        do {
            pid = try forked?.pid ?? Subprocess.spawn([python, "-m", "dkrun_dask.driver"], stdio: [toDriver[0], fromDriver[1], -1])
        } catch {
            [toDriver[0], toDriver[1], fromDriver[0], fromDriver[1]].forEach { close($0) }
            throw BridgeError(description: "cannot start the Dask driver: \(error)")
        }
        close(toDriver[0])
        close(fromDriver[1])
        channel = FrameChannel(input: fromDriver[0], output: toDriver[1])
    }

    func send(_ value: Value) throws { try channel.send(value) }

    /// The next event, nil after `wait` seconds without one.
    /// - Throws: when the driver is gone (its output ended).
    func next(wait: Double) throws -> Value? {
        var p = pollfd(fd: channel.input, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, Numbers.clamped(wait * 1000))
        guard n > 0 else { return nil }
        guard let event = try channel.receive() else {
            throw BridgeError(description: "the Dask driver ended without a result (\(describe(reap())))")
        }
        return event
    }

    /// Closes its stdin, waits up to `grace` seconds for it to exit, then kills its process
    /// group (a temporary cluster's processes with it).
    @discardableResult
    func finish(grace: Double) -> Int32 {
        close(channel.output)
        close(channel.input)
        let status = wait(timeout: grace)
        kill(-pid, SIGKILL)
        return status ?? forked?.wait(timeout: 10) ?? -1
    }

    private func reap() -> Int32 { wait(timeout: 10) ?? -1 }

    /// Its exit status; nil when it has not ended within `timeout` seconds (our own child is
    /// stopped then, as `Subprocess.wait` does).
    private func wait(timeout: Double) -> Int32? {
        if let forked { return forked.wait(timeout: timeout) }
        return (try? Subprocess.wait(pid, timeout: timeout).status) ?? -1
    }

    private func describe(_ status: Int32) -> String {
        status > 128 ? "killed by signal \(status - 128)" : "exit code \(status)"
    }

    /// The Python that has dkrun_dask installed: DKRUN_PYTHON, else the virtualenv of the
    /// checkout the binary was built in (scripts/setup.sh makes it), else the one of an
    /// installed dkrun, `PREFIX/lib/dkrun/venv` (scripts/install.sh, docs/install.md).
    static func python() throws -> String {
        if let python = Files.environment("DKRUN_PYTHON") { return python }
        if let python = Product.findBesideExecutable([".venv/bin/python", "lib/dkrun/venv/bin/python"], where: Files.isExecutable) {
            return python
        }
        throw BridgeError(description: "running on Dask needs dkrun's Python bridge: run scripts/setup.sh or scripts/install.sh, "
                          + "or set DKRUN_PYTHON to a Python that has python/dkrun_dask installed")
    }
}
