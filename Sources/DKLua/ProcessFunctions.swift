#if canImport(Glibc)
import Glibc
#endif
internal import CLua
import DKCore

/// Lua's functions that start or end processes, as dkrun runs them. `os.execute` and `io.popen`
/// start their command (`/bin/sh -c`) with `Subprocess`, in a process group of its own, so that
/// a task's deadline and Ctrl-C stop it and everything it started, as they stop `dk.shell.run`'s
/// (the C library's would run on, and a second Ctrl-C would leave them behind). `os.exit` ends
/// dkrun only where the script is the program (its top level, the REPL); during a run it
/// raises, and a task that called it fails (`LuaState.exitCalled`): the run goes on.
extension HostFunctions {
    /// exit([code]): Lua's os.exit (true or none is 0, false is 1).
    static let osExit: dk_swift_function = { L in
        let lua = host(L).lua
        let code: Int32
        switch lua_type(L, 1) {
        case LUA_TNONE, LUA_TNIL: code = EXIT_SUCCESS
        case LUA_TBOOLEAN: code = lua_toboolean(L, 1) != 0 ? EXIT_SUCCESS : EXIT_FAILURE
        default:
            var isInteger: Int32 = 0
            let n = lua_tointegerx(L, 1, &isInteger)
            guard isInteger != 0 else { return fail(L, "bad argument #1 to 'exit' (number expected)") }
            code = Int32(truncatingIfNeeded: n)
        }
        if lua.exitEndsProcess {
            fflush(nil)
            Glibc.exit(code)
        }
        lua.exitCalled = code
        dk_lua_caller_where(L, 1)
        return fail(L, (string(L, -1) ?? "") + "os.exit(\(code)) called during a flow run")
    }

    /// execute([command]): Lua's os.execute. The command writes to dkrun's standard output
    /// and error; the results are Lua's (true or nil, "exit" or "signal", the code).
    static let osExecute: dk_swift_function = { L in
        if lua_type(L, 1) <= LUA_TNIL {
            lua_pushboolean(L, 1)  // a shell is there
            return 1
        }
        guard let command = string(L, 1) else { return fail(L, "bad argument #1 to 'execute' (string expected)") }
        return blocking(L, { deadline in try Subprocess.wait(try startShell(command), deadline: deadline) },
                        push: { execResult(L, $0) })
    }

    /// popen(command, mode): Lua's io.popen, a file handle on the command's standard output
    /// ("r") or input ("w"). Its reads and writes stop with the command at the task's deadline
    /// and on Ctrl-C (`CommandPipe`); closing it waits for the command and returns what
    /// os.execute would.
    static let ioPopen: dk_swift_function = { L in
        guard let command = string(L, 1), let mode = string(L, 2), mode == "r" || mode == "w" else {
            return fail(L, "bad argument to 'popen' (a command and the mode \"r\" or \"w\" expected)")
        }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return fileFailure(L) }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let reading = mode == "r"
        let (ours, theirs) = reading ? (ends[0], ends[1]) : (ends[1], ends[0])
        let pid: pid_t
        do {
            pid = try startShell(command, stdin: reading ? -1 : theirs, stdout: reading ? theirs : -1)
        } catch {
            ends.forEach { close($0) }
            lua_pushnil(L)
            host(L).lua.push("\(error)")
            return 2
        }
        close(theirs)
        let pipe = CommandPipe(fd: ours, pid: pid, flags: StateFlags(of: L))
        guard let file = dk_fopencookie(Unmanaged.passUnretained(pipe).toOpaque(), mode, CommandPipe.functions) else {
            close(ours)
            _ = try? Subprocess.wait(pid, deadline: Deadline(at: 0))
            return fileFailure(L)
        }
        let stream = lua_newuserdatauv(L, MemoryLayout<dk_command_stream>.size, 0)!.assumingMemoryBound(to: dk_command_stream.self)
        stream.initialize(to: dk_command_stream(stream: luaL_Stream(f: file, closef: CommandPipe.close),
                                                command: Unmanaged.passRetained(pipe).toOpaque()))
        luaL_setmetatable(L, "FILE*")
        return 1
    }

    /// Starts `sh -c command` in a process group of its own, with dkrun's standard error and
    /// the given input and output (-1: dkrun's). A group of its own cannot read the terminal
    /// (SIGTTIN would stop it), so where dkrun's input is one, the command's is /dev/null.
    private static func startShell(_ command: String, stdin: Int32 = -1, stdout: Int32 = -1) throws -> pid_t {
        let input = stdin < 0 && isatty(STDIN_FILENO) != 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : stdin
        defer { if input != stdin { close(input) } }
        return try Subprocess.spawn(["/bin/sh", "-c", command], stdio: [input, stdout, -1])
    }

    /// Pushes what os.execute returns for a command that ended so (Lua's own function makes it).
    static func execResult(_ L: OpaquePointer?, _ ended: Subprocess.Ending) -> Int32 {
        errno = 0
        return luaL_execresult(L, ended.signal ?? ended.status << 8)
    }

    /// nil, the message and the number of `errno`, as Lua's io functions fail.
    private static func fileFailure(_ L: OpaquePointer?) -> Int32 { luaL_fileresult(L, 0, nil) }
}

/// The command of an `io.popen` handle and dkrun's end of the pipe to it, which is the cookie
/// of the handle's FILE. Reads and writes wait for the pipe in short polls, so that the state's
/// deadline or Ctrl-C stops the command (its process group, by `Subprocess.wait`) rather than
/// block on it: the read or write then fails (EINTR) and the state records why, as the hook
/// does; the task ends TimedOut or interrupted.
final class CommandPipe {
    private let fd: Int32
    private let pid: pid_t
    private let flags: StateFlags
    /// How the command ended, once it is reaped.
    private var ended: Subprocess.Ending?

    init(fd: Int32, pid: pid_t, flags: StateFlags) {
        self.fd = fd
        self.pid = pid
        self.flags = flags
    }

    static let functions = dk_cookie_functions(
        read: { cookie, buffer, size in pipe(cookie).transfer(events: POLLIN) { Glibc.read($0, buffer, size) } },
        // A write function fails with 0, not -1 (see fopencookie(3)).
        write: { cookie, buffer, size in max(0, pipe(cookie).transfer(events: POLLOUT) { writeWithoutSIGPIPE($0, buffer, size) }) },
        seek: nil,
        close: { cookie in Glibc.close(pipe(cookie).fd) })

    /// The handle's close function (luaL_Stream.closef): closes the FILE and its pipe, waits
    /// for the command, stopping it at the state's deadline, and returns os.execute's results.
    static let close: lua_CFunction = { L in
        let stream = lua_touserdata(L, 1)!.assumingMemoryBound(to: dk_command_stream.self)
        let pipe = Unmanaged<CommandPipe>.fromOpaque(stream.pointee.command).takeRetainedValue()
        fclose(stream.pointee.stream.f)
        guard let ended = pipe.end() else {
            errno = ECHILD
            return luaL_fileresult(L, 0, nil)
        }
        return HostFunctions.execResult(L, ended)
    }

    private static func pipe(_ cookie: UnsafeMutableRawPointer?) -> CommandPipe {
        Unmanaged<CommandPipe>.fromOpaque(cookie!).takeUnretainedValue()
    }

    /// `io` once the pipe is ready for `events`; -1 (EINTR) once the state's deadline or
    /// Ctrl-C has stopped the command instead.
    private func transfer(events: Int32, _ io: (Int32) -> Int) -> Int {
        var p = pollfd(fd: fd, events: Int16(events), revents: 0)
        while true {
            let n = poll(&p, 1, 10)
            if n > 0 || (n < 0 && errno != EINTR) { return io(fd) }
            if ended != nil || flags.deadline.stop != nil {
                end()
                errno = EINTR
                return -1
            }
        }
    }

    /// Waits for the command, stopping it at the state's deadline (which the state records),
    /// and reaps it, once; nil if it cannot be waited for.
    @discardableResult
    private func end() -> Subprocess.Ending? {
        if ended == nil {
            let deadline = flags.deadline
            ended = try? Subprocess.wait(pid, deadline: deadline)
            if ended?.timedOut == true, let stop = deadline.stop { flags.record(stop) }
        }
        return ended
    }
}

/// write(2) to a pipe whose reader may be gone: EPIPE rather than SIGPIPE, which would end
/// dkrun. The signal is blocked in this thread for the call and a pending one taken.
private func writeWithoutSIGPIPE(_ fd: Int32, _ buffer: UnsafePointer<CChar>?, _ size: Int) -> Int {
    var pipeSignal = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    let n = write(fd, buffer, size)
    if n < 0 && errno == EPIPE {
        var now = timespec()
        _ = sigtimedwait(&pipeSignal, nil, &now)
        errno = EPIPE
    }
    return n
}
