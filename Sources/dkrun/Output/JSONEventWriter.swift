import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// `--json-events`: one JSON object per line on stdout, for tools and tests. Secrets are
/// masked in each event's values before it is encoded, so no escaped form of one gets out.
final class JSONEventWriter: RunObserver, @unchecked Sendable {
    private let monitor = Monitor()
    private let out: UnsafeMutablePointer<FILE>

    /// Takes stdout for the events: they go to a private copy of it, and stdout itself
    /// becomes stderr, so that nothing else written there (a program a task starts, a
    /// library) can break the stream.
    init() {
        fflush(stdout)
        let events = dup(STDOUT_FILENO)
        _ = fcntl(events, F_SETFD, FD_CLOEXEC)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        out = fdopen(events, "w") ?? stderr
    }

    func handle(_ event: RunEvent) {
        var bytes: [UInt8] = []
        event.writeJSON(into: &bytes, withResult: true)
        bytes.append(UInt8(ascii: "\n"))
        monitor.locked {
            _ = fwrite(bytes, 1, bytes.count, out)
            fflush(out)  // readers follow the run as it happens
        }
    }
}
