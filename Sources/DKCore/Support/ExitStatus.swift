/// How a dkrun command ends, as its exit code tells: the contract of docs/cli.md.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// The flow ran and failed, or an operation failed (the API refused, a file could not be written).
    case failure = 1
    /// The input was wrong (the script, a parameter, a configuration field); nothing ran.
    case badInput = 2
    /// The flow run is paused: a task waits for approval (`manual_only`, `dk.pause`).
    case paused = 3
    case interrupted = 130

    /// The exit status of a finished flow run.
    public init(flowState: TaskState) {
        switch flowState.kind {
        case .success, .skipped, .mapped, .cached: self = .success
        case .cancelled: self = .interrupted
        case .paused: self = .paused
        default: self = .failure
        }
    }
}

/// An error that knows which exit status it means. The entry point reads it; errors that do
/// not conform are failures.
public protocol CategorizedError: Error, CustomStringConvertible {
    var exitStatus: ExitStatus { get }
}

/// An error whose category is decided where it is raised: `.badInput("...")`, `.failure("...")`.
/// An empty message means the reason was shown already (a failed flow's summary).
public struct CommandError: CategorizedError, Equatable {
    public let exitStatus: ExitStatus
    public let description: String

    public init(_ exitStatus: ExitStatus, _ description: String) {
        self.exitStatus = exitStatus
        self.description = description
    }

    public static func badInput(_ message: String) -> CommandError { CommandError(.badInput, message) }
    public static func failure(_ message: String) -> CommandError { CommandError(.failure, message) }
    public static let interrupted = CommandError(.interrupted, "interrupted")

    /// Ends a command with a flow run's status: returns for success, else throws the exit
    /// code (the run's summary has said why).
    public static func end(with status: ExitStatus) throws {
        switch status {
        case .success: return
        case .interrupted: throw interrupted
        default: throw CommandError(status, "")
        }
    }
}

/// A flow run that could not go on: its cluster failed, its driver lost, the API gave up.
/// The run ends Failed with this as the reason.
public struct RunFailure: CategorizedError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var exitStatus: ExitStatus { .failure }
}
