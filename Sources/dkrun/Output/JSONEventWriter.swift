import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// `--json-events`: one JSON object per line on stdout, for tools and tests.
final class JSONEventWriter: RunObserver, @unchecked Sendable {
    private let monitor = Monitor()

    func handle(_ event: RunEvent) {
        let bytes = Array((SecretMask.apply(JSON.encode(event.value)) + "\n").utf8)
        monitor.locked {
            _ = fwrite(bytes, 1, bytes.count, stdout)
            fflush(stdout)  // readers follow the run as it happens
        }
    }
}
