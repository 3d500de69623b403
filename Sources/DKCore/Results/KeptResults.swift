#if canImport(Glibc)
import Glibc
#endif

/// Where a run keeps the results a later `--resume` of it takes (docs/results.md, Resume),
/// decided here only: under `runs/RUN/` in the flow's result location when it names one, so
/// that Dask workers and Kubernetes pods write them where the resuming run reads them, else
/// in the default location, `$DKRUN_HOME/results`. A task's own `result` is for its
/// checkpoint and target, not for these.
public struct KeptPlace: Sendable, Hashable {
    public let location: ResultLocation
    public let run: String

    public init(flowResult: ResultLocation?, run: String) {
        location = flowResult ?? .defaultLocation
        self.run = run
    }

    /// The key of one result written on its own (to an S3 location, and by runs made before
    /// results were appended on Dask workers): `runs/RUN/tasks/IDENTITY`.
    func key(_ identity: String) -> String { "runs/\(run)/tasks/\(identity)" }

    /// Where a result is kept, as the run history and messages show it: "KEY in LOCATION",
    /// the name of its kept file (`file(writer:)`, relative) and the record's identity when
    /// it is in one.
    func describe(_ identity: String, file: String?) -> String { described(file: file).of(identity) }

    /// `describe`'s text around the identity, made once for the many results of a place
    /// (`KeptResults` keeps the one of the place it added to last).
    final class Described {
        let place: KeptPlace
        private let head: String
        private let tail: String

        fileprivate init(_ place: KeptPlace, head: String, tail: String) {
            (self.place, self.head, self.tail) = (place, head, tail)
        }

        func of(_ identity: String) -> String { head + identity + tail }
    }

    func described(file: String?) -> Described {
        guard let file else { return Described(self, head: key(""), tail: " in \(location)") }
        return Described(self, head: "runs/\(run)/\(file) (record ", tail: ") in \(location)")
    }

    /// Whether a run on Kubernetes keeps results for a resume: only in a flow's location that
    /// every pod, and the resuming run, reaches (else they would be lost with the pod's disk).
    public static func keepsOnKubernetes(flowResult: ResultLocation?) -> Bool { flowResult?.isShared == true }

    /// The name of the append-only file (`KeptFile`) a writer appends to in the run's
    /// directory, when the location is a directory: `kept` for the run's own process,
    /// `kept-WRITER` for each other process that keeps results of it (a Dask worker's task
    /// server), so that no two processes append to one file. nil: one object per result.
    func file(writer: String?) -> String? {
        guard case .local = location else { return nil }
        return writer.map { "kept-\($0)" } ?? "kept"
    }

    /// The run's directory, which holds its kept files, when the location is a directory.
    var directory: String? {
        guard case .local(let dir) = location else { return nil }
        return Files.join(dir, "runs/\(run)")
    }

    /// Whether a name in the run's directory is one of its kept files (`file(writer:)`).
    static func isFile(_ name: String) -> Bool { name == "kept" || name.hasPrefix("kept-") }
}

/// Writes the results a process keeps for a later `--resume` on a thread of its own,
/// batched, so that tasks do not wait for the file system: appended to one file of the run
/// when the place is a directory (`KeptPlace.file(writer:)`; a file per result cost a
/// 10,000-task run several times its time, scripts/bench_resume.py, and a Dask worker's task
/// server ~0.4 ms per task), else one object per result. A run here has one for the run and
/// waits for the last write at its end (`finish`); a Dask worker's task server has one for
/// all the runs it serves, written out before each Dask task ends (`flush`).
public final class KeptResults: @unchecked Sendable, Equatable {
    /// The name of this writer's files (`KeptPlace.file(writer:)`): nil for a run's own.
    let writer: String?
    /// Condition 0 wakes the writer's thread; 1, those waiting in `flush`.
    private let monitor = Monitor(conditions: 2)
    private var pending: [(store: ResultStore, place: KeptPlace, result: StoredResult)] = []
    private var thread: pthread_t?
    /// Results added and written (or failed) so far: `flush` waits until they are equal.
    private var added = 0
    private var done = 0
    private var flushing = 0
    private var finishing = false
    private var failed = 0
    private var firstFailure: String?
    /// The open files of the places written to lately (one per run).
    private var files: [String: Int32] = [:]
    /// How the results of the place added last are described (a run's are all in one place).
    private var described: KeptPlace.Described?
    static let openFiles = 8

    public init(writer: String? = nil) { self.writer = writer }

    public static func == (a: KeptResults, b: KeptResults) -> Bool { a === b }

    /// Results the writer takes at once: waking it for each one would cost the tasks more
    /// than the write (a thread switch per task).
    static let batch = 256
    /// How long a smaller batch waits for more (a run whose tasks are slow).
    static let batchDelay = 0.05

    /// Whether it keeps the results of `place`: a run's own writer every place's; a task
    /// server's only a directory's (its file), objects (S3) being written at once as the
    /// task ends, as before (written from this thread, a task server's S3 results were not
    /// found by a resume on the Kubernetes test cluster, KubeResultsTests; cause not known).
    func takes(_ place: KeptPlace) -> Bool { writer == nil || place.directory != nil }

    /// Keeps `result`; where it will be, as `KeptPlace.describe` says.
    func add(_ store: ResultStore, _ place: KeptPlace, _ result: StoredResult) -> String {
        let text = monitor.locked {
            pending.append((store, place, result))
            added += 1
            if thread == nil { thread = spawnThread { [self] in write() } }
            if pending.count == 1 || pending.count == Self.batch { monitor.signal() }
            if let described, described.place == place { return described }
            let made = place.described(file: place.file(writer: writer))
            described = made
            return made
        }
        return text.of(result.identity)
    }

    private func write() {
        while true {
            let batch = monitor.locked { () -> [(store: ResultStore, place: KeptPlace, result: StoredResult)]? in
                while pending.isEmpty && !finishing { monitor.wait() }
                let deadline = Clock.monotonic() + Self.batchDelay
                while pending.count < Self.batch && !finishing && flushing == 0 && monitor.wait(until: deadline) {}
                if pending.isEmpty { return nil }
                defer { pending = [] }
                return pending
            }
            guard let batch else { break }
            var appended: [String: (bytes: [UInt8], count: Int)] = [:]
            for (store, place, result) in batch {
                if let dir = place.directory, let name = place.file(writer: writer) {
                    let path = Files.join(dir, name)
                    KeptFile.append(result, to: &appended[path, default: ([], 0)].bytes)
                    appended[path]?.count += 1
                } else {
                    do { try store.write(place.key(result.identity), result.bytes) } catch {
                        failure(1, "cannot keep task '\(result.task)''s result at \(place.key(result.identity)) in \(store.location): \(error)")
                    }
                }
            }
            for (path, records) in appended {
                do { try append(records.bytes, to: path) } catch {
                    failure(records.count, "cannot keep results in \(path): \(error)")
                }
            }
            monitor.locked {
                done += batch.count
                monitor.broadcast(1)
            }
        }
        for fd in files.values { close(fd) }
    }

    private func append(_ bytes: [UInt8], to path: String) throws {
        let fd: Int32
        if let open = files[path] { fd = open } else {
            // A task server serves run after run: the files of earlier runs are let go.
            if files.count >= Self.openFiles {
                for fd in files.values { close(fd) }
                files = [:]
            }
            try Files.makeDirectories(Files.directory(of: path))
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Files.FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure) }
            files[path] = fd
        }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Files.FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure) }
            done += n
        }
    }

    private func failure(_ count: Int, _ message: String) {
        monitor.locked {
            failed += count
            firstFailure = firstFailure ?? message
        }
    }

    /// Waits until every result kept so far is written (without waiting for a batch to
    /// fill). What could not be written since the last flush is one warning, with how many
    /// results a resume will run again; nil: all were.
    public func flush() -> String? {
        monitor.locked {
            flushing += 1
            monitor.signal()
            while done < added { monitor.wait(1) }
            flushing -= 1
            defer { (failed, firstFailure) = (0, nil) }
            return firstFailure.map { "\($0) (\(failed) results not kept; a resume runs those tasks again)" }
        }
    }

    /// Writes every kept result and ends the writer's thread: `flush`'s warning, if any.
    public func finish(warn: (String) -> Void) {
        if let warning = flush() { warn(warning) }
        let thread = monitor.locked { () -> pthread_t? in
            finishing = true
            monitor.signal()
            return self.thread
        }
        if let thread { pthread_join(thread, nil) }
    }
}

/// A run's kept results in one append-only file, `runs/RUN/kept`: one record per result,
///
///     "DKK1" | body length (UInt32, big-endian) | body | FNV-1a 32 of the body (UInt32, big-endian)
///
/// where the body is the identity (64 hexadecimal digits) and the `StoredResult`'s bytes.
/// A record cut short (the last one of a run that was killed) or corrupt is skipped with a
/// warning: its task runs again; reading goes on at the next record's mark.
enum KeptFile {
    static let mark: [UInt8] = Array("DKK1".utf8)
    static let identityLength = 64

    static func append(_ result: StoredResult, to bytes: inout [UInt8]) {
        var body = Array(result.identity.utf8)
        body += result.bytes
        bytes += mark
        putUInt32(UInt32(body.count), &bytes)
        bytes += body
        putUInt32(fnv1a(body[...]), &bytes)
    }

    /// The records of a file's bytes: each identity's `StoredResult` bytes (the last record
    /// of an identity wins; they are the same result), and what was skipped.
    static func read(_ bytes: [UInt8]) -> (index: [String: ArraySlice<UInt8>], skipped: [String]) {
        var index: [String: ArraySlice<UInt8>] = [:]
        var skipped: [String] = []
        var at = 0
        while at < bytes.count {
            guard bytes.count - at >= 8, bytes[at ..< at + 4].elementsEqual(mark) else {
                let next = nextMark(bytes, after: at)
                skipped.append("bytes \(at) to \(next): no record")
                at = next
                continue
            }
            let length = Int(getUInt32(bytes, at + 4))
            let end = at + 8 + length
            guard length >= identityLength, end + 4 <= bytes.count else {
                let next = nextMark(bytes, after: at)
                skipped.append(next == bytes.count && end + 4 > bytes.count ? "the last record (at byte \(at)): cut short"
                               : "the record at byte \(at): bad length")
                at = next
                continue
            }
            let body = bytes[at + 8 ..< end]
            guard fnv1a(body) == getUInt32(bytes, end) else {
                skipped.append("the record at byte \(at): corrupt")
                at = nextMark(bytes, after: at)
                continue
            }
            index[String(decoding: body.prefix(identityLength), as: UTF8.self)] = body.dropFirst(identityLength)
            at = end + 4
        }
        return (index, skipped)
    }

    private static func nextMark(_ bytes: [UInt8], after at: Int) -> Int {
        var i = at + 1
        while i + 4 <= bytes.count {
            if bytes[i] == mark[0] && bytes[i ..< i + 4].elementsEqual(mark) { return i }
            i += 1
        }
        return bytes.count
    }

    private static func putUInt32(_ v: UInt32, _ bytes: inout [UInt8]) {
        bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    private static func getUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    private static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var h: UInt32 = 0x811c_9dc5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}

/// The results an earlier run kept, as a resumed run looks them up: its kept files (`kept`,
/// and each Dask worker task server's `kept-*`), read once per process into one index (a
/// warning for each record skipped, once), else the result written on its own under its key
/// (S3, and runs made before results were appended on Dask workers). Only the last run's
/// index is held (a Dask worker serves one run after another).
enum KeptIndex {
    private static let monitor = Monitor()
    /// Each identity's bytes and the name of the file they are in.
    typealias Index = [String: (bytes: ArraySlice<UInt8>, file: String)]
    nonisolated(unsafe) private static var last: (directory: String, index: Index)?

    /// The bytes the run of `place` kept for `identity`, and where (`KeptPlace.describe`); nil: none.
    static func lookup(_ place: KeptPlace, _ identity: String, _ store: ResultStore,
                       log: (LogLevel, String) -> Void) throws -> (bytes: [UInt8], key: String)? {
        if let dir = place.directory, let found = try index(dir, log: log)[identity] {
            return (Array(found.bytes), place.describe(identity, file: found.file))
        }
        return try store.read(place.key(identity)).map { ($0, place.describe(identity, file: nil)) }
    }

    private static func index(_ dir: String, log: (LogLevel, String) -> Void) throws -> Index {
        try monitor.locked {
            if let last, last.directory == dir { return last.index }
            let index = try read(dir, log: log)
            last = (dir, index)
            return index
        }
    }

    /// The records of every kept file in a run's directory (none when there is no directory).
    static func read(_ dir: String, log: (LogLevel, String) -> Void) throws -> Index {
        var index: Index = [:]
        guard Files.kind(dir) == "directory" else { return index }
        for name in try Files.list(dir) where KeptPlace.isFile(name) {
            let path = Files.join(dir, name)
            let read = KeptFile.read(try Files.read(path, limit: .keptResults))
            for s in read.skipped { log(.warning, "kept results \(path): \(s), skipped (its task runs again)") }
            for (identity, bytes) in read.index { index[identity] = (bytes, name) }
        }
        return index
    }
}
