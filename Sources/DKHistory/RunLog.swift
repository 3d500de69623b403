import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// The file of one run's events in the history: one JSON object per line, as `--json-events`
/// prints them (so `dkrun graph --events` reads it too), secrets masked, without the tasks'
/// results (the history keeps what happened, not the values).
public final class RunLog {
    private let file: UnsafeMutablePointer<FILE>
    public let path: String

    /// Starts the file anew (a Kubernetes run followed again replays all its events).
    public init(creating path: String) throws {
        guard let file = fopen(path, "w") else {
            throw Files.FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
        self.file = file
        self.path = path
    }

    deinit { fclose(file) }

    /// Appends the events, and makes them visible to readers.
    public func append(_ events: [RunEvent]) throws {
        var bytes: [UInt8] = []
        for event in events {
            event.writeJSON(into: &bytes, withResult: false)
            bytes.append(UInt8(ascii: "\n"))
        }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count, fflush(file) == 0 else {
            throw Files.FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
    }

    /// The events of a run's file, in order. A line that is no event (a file cut short by a
    /// crash) is skipped.
    public static func events(at path: String) throws -> [RunEvent] {
        let text = try Files.read(path, limit: .events)
        return text.split(separator: UInt8(ascii: "\n")).compactMap { line in
            (try? JSON.decode(Array(line), maxDepth: Value.maxMessageDepth)).flatMap(RunEvent.init(value:))
        }
    }
}
