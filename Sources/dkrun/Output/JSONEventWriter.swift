import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// `--json-events`: one JSON object per line on stdout, for tools and tests.
final class JSONEventWriter: RunObserver, @unchecked Sendable {
    private let monitor = Monitor()

    func handle(_ event: RunEvent) {
        var bytes: [UInt8] = []
        JSON.write(event.value, into: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        monitor.locked {
            _ = fwrite(bytes, 1, bytes.count, stdout)
            fflush(stdout)  // readers follow the run as it happens
        }
    }
}
