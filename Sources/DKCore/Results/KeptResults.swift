#if canImport(Glibc)
import Glibc
#endif

/// Writes the results a run here (local, threads) keeps for a later `--resume` (docs/results.md,
/// Resume) on a thread of its own, so that the tasks do not wait for the file system: written
/// one by one as they were, they cost a 10,000-task run a few times its time
/// (scripts/bench_resume.py). The run's end waits for the last one (`finish`). Dask workers
/// have none: they write each result as it comes.
public final class KeptResults: @unchecked Sendable, Equatable {
    private let monitor = Monitor()
    private var pending: [(store: ResultStore, key: String, result: StoredResult)] = []
    private var writer: pthread_t?
    private var finishing = false
    private var failed = 0
    private var firstFailure: String?

    public init() {}

    public static func == (a: KeptResults, b: KeptResults) -> Bool { a === b }

    func add(_ store: ResultStore, _ key: String, _ result: StoredResult) {
        monitor.locked {
            pending.append((store, key, result))
            if writer == nil { writer = spawnThread { [self] in write() } }
            monitor.signal()
        }
    }

    private func write() {
        while true {
            let batch = monitor.locked { () -> [(store: ResultStore, key: String, result: StoredResult)]? in
                while pending.isEmpty && !finishing { monitor.wait() }
                if pending.isEmpty { return nil }
                defer { pending = [] }
                return pending
            }
            guard let batch else { return }
            for (store, key, result) in batch {
                do { try store.write(key, result.bytes) } catch {
                    monitor.locked {
                        failed += 1
                        firstFailure = firstFailure ?? "cannot keep task '\(result.task)''s result at \(key) in \(store.location): \(error)"
                    }
                }
            }
        }
    }

    /// Waits until every kept result is written. A location that cannot be written is one
    /// warning, with how many results a resume will run again.
    public func finish(warn: (String) -> Void) {
        let thread = monitor.locked { () -> pthread_t? in
            finishing = true
            monitor.signal()
            return writer
        }
        if let thread { pthread_join(thread, nil) }
        if let firstFailure { warn("\(firstFailure) (\(failed) results not kept; a resume runs those tasks again)") }
    }
}
