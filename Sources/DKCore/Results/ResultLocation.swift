/// Where tasks keep results (`dk.results.Local`, `dk.results.S3`, docs/results.md), as a task's
/// or a flow's description holds it: `{type = "Local", dir = ...}`, `{type = "S3", bucket = ...}`.
public enum ResultLocation: Sendable, Hashable, CustomStringConvertible {
    /// A directory; a relative one is relative to the directory of the process running the task.
    case local(dir: String)
    case s3(S3Location)

    /// Where results go when neither the task nor its flow names a location: `$DKRUN_HOME/results`.
    public static var defaultLocation: ResultLocation { .local(dir: Files.join(Product.home, "results")) }

    public init(value v: Value, path: String) throws {
        func text(_ key: String) throws -> String? {
            guard let x = v[key], !x.isNull else { return nil }
            guard let s = x.stringValue else { throw FlowDescriptionError("\(path).\(key): string expected, got \(x.typeName)") }
            return s
        }
        let known: Set<String>
        switch try text("type") {
        case "Local":
            guard let dir = try text("dir") else { throw FlowDescriptionError("\(path).dir: string expected, got nothing") }
            self = .local(dir: dir)
            known = ["type", "dir"]
        case "S3":
            guard let bucket = try text("bucket") else { throw FlowDescriptionError("\(path).bucket: string expected, got nothing") }
            self = .s3(S3Location(bucket: bucket, prefix: try text("prefix") ?? "", endpoint: try text("endpoint"),
                                  region: try text("region")))
            known = ["type", "bucket", "prefix", "endpoint", "region"]
        case let other:
            throw FlowDescriptionError("\(path).type: \"Local\" or \"S3\" expected, got \(other.map { "\"\($0)\"" } ?? "nothing")")
        }
        if let extra = v.textKeyed.keys.sorted().first(where: { !known.contains($0) }) {
            throw FlowDescriptionError("\(path): unknown field '\(extra)'")
        }
    }

    /// The location as its description holds it.
    public var value: Value {
        switch self {
        case .local(let dir): return ["type": "Local", "dir": .text(dir)]
        case .s3(let s):
            var m: [String: Value] = ["type": "S3", "bucket": .text(s.bucket)]
            if !s.prefix.isEmpty { m["prefix"] = .text(s.prefix) }
            if let e = s.endpoint { m["endpoint"] = .text(e) }
            if let r = s.region { m["region"] = .text(r) }
            return Value(textKeys: m)
        }
    }

    /// Whether every pod of a Kubernetes run reaches it (a directory is each pod's own).
    public var isShared: Bool {
        if case .s3 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .local(let dir): return "Local{dir = \"\(dir)\"}"
        case .s3(let s): return "s3://\(s.bucket)/\(s.prefix)" + (s.endpoint.map { " at \($0)" } ?? "")
        }
    }
}

public struct S3Location: Sendable, Hashable {
    public var bucket: String
    /// Prepended to every key ("runs/" puts keys under runs/).
    public var prefix: String
    /// The S3 API's base URL; nil: AWS's for the region.
    public var endpoint: String?
    /// nil: AWS_DEFAULT_REGION, AWS_REGION, else us-east-1.
    public var region: String?

    public init(bucket: String, prefix: String = "", endpoint: String? = nil, region: String? = nil) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
    }
}

/// Reads and writes the bytes of stored results under keys ("a/b/c"), in one location.
public protocol ResultStore {
    var location: ResultLocation { get }
    /// The bytes under `key`; nil when nothing is stored there.
    func read(_ key: String) throws -> [UInt8]?
    /// Stores `bytes` under `key`, replacing what was there; readers see the old or the new, whole.
    func write(_ key: String, _ bytes: [UInt8]) throws
}

/// A location that cannot be read or written (unreachable, refused, not writable).
public struct ResultStoreError: CategorizedError {
    public let description: String
    public var exitStatus: ExitStatus { .failure }
    public init(_ description: String) { self.description = description }
}

/// Results in a directory, one file per key.
public struct LocalResultStore: ResultStore {
    public let location: ResultLocation
    private let dir: String

    public init(dir: String) {
        self.dir = dir
        location = .local(dir: dir)
    }

    public func read(_ key: String) throws -> [UInt8]? {
        let path = Files.join(dir, key)
        guard Files.kind(path) != nil else { return nil }
        do { return try Files.read(path, limit: .result) } catch { throw ResultStoreError("\(error)") }
    }

    public func write(_ key: String, _ bytes: [UInt8]) throws {
        let path = Files.join(dir, key)
        do {
            try Files.makeDirectories(Files.directory(of: path))
            // Written aside and renamed: a reader never sees half a result.
            let temporary = path + ".partial-\(UUID4.make())"
            try Files.write(temporary, bytes)
            try Files.rename(temporary, to: path)
        } catch {
            throw ResultStoreError("\(error)")
        }
    }
}

extension FlowSpec {
    /// Why the flow cannot keep results on Kubernetes, or nil: what a run reads back must be
    /// where every pod reaches it (S3), not in a pod's own directory. That is a task's
    /// checkpoint or target in its result location, and when the run resumes another, the
    /// results that run kept (`KeptPlace`: the flow's result location).
    public func resultsProblemOnKubernetes(resuming: Bool) -> String? {
        if resuming, !KeptPlace.keepsOnKubernetes(flowResult: result) {
            return "--resume: flow '\(name)' runs on Kubernetes, and with no result location named, "
                + "the results a resume reads are kept in \(ResultLocation.defaultLocation), which each pod has on its own disk: give the flow "
                + "a result location every pod can reach, result = dk.results.S3{ bucket = ... } (docs/results.md, Resume)"
        }
        let unshared = tasks.filter { ($0.checkpoint == true || $0.target != nil) && !$0.resultLocation.isShared }
        guard let first = unshared.first else { return nil }
        return "flow '\(name)': task '\(first.slug)' (\(first.source)) keeps its result (checkpoint or target) in "
            + "\(first.resultLocation), which each Kubernetes pod has on its own disk: give the flow (or the task) a result "
            + "location every pod can reach, result = dk.results.S3{ bucket = ... } (docs/results.md)"
    }
}
