/// The most bytes dkrun takes of each kind of input, so that no input, however big or
/// endless (`/dev/zero`), fills memory: one limit per kind, listed in docs/limits.md.
public struct SizeLimit: Sendable, Equatable {
    public let bytes: Int
    /// What it limits, for messages: "a params file".
    public let what: String

    /// A message between dkrun and the Dask bridge or a worker (both sides check it).
    public static let frame = SizeLimit(bytes: 256 << 20, what: "a frame")
    /// A flow's payload: what a worker or the Job's pod rebuilds the flow from.
    public static let payload = SizeLimit(bytes: 64 << 20, what: "a payload")
    public static let paramsFile = SizeLimit(bytes: 16 << 20, what: "a params file")
    /// A script, a module it requires, a spec file it reads, a Dockerfile, a REPL `:load`.
    public static let source = SizeLimit(bytes: 16 << 20, what: "a script, module or file a flow reads")
    /// A kubeconfig and the certificates, keys and tokens it names; a secrets file.
    public static let credentials = SizeLimit(bytes: 4 << 20, what: "a kubeconfig, credentials or secrets file")
    /// A task's stored result (a checkpoint, a target, a cache entry): it crosses frames whole.
    public static let result = SizeLimit(bytes: 256 << 20, what: "a stored task result")
    /// `dkrun graph --events`: the JSON event lines of a run.
    public static let events = SizeLimit(bytes: 256 << 20, what: "an events file")
    /// The results a run keeps for a resume, in one file (`KeptFile`).
    public static let keptResults = SizeLimit(bytes: 4 << 30, what: "a run's kept results file")
    /// What a program a task runs (`dk.shell.run`) writes on stdout or stderr.
    public static let programOutput = SizeLimit(bytes: 1 << 30, what: "a program's output")

    /// "16 MiB".
    public var shown: String {
        bytes >= 1 << 30 && bytes % (1 << 30) == 0 ? "\(bytes >> 30) GiB" : "\(bytes >> 20) MiB"
    }

    /// Why `count` bytes (or more) are refused: "more than 16 MiB, the limit for a params file".
    public func refusal(_ count: Int? = nil) -> String {
        "\(count.map { "\($0) bytes: " } ?? "")more than \(shown), the limit for \(what)"
    }
}
