/// The task graph of one flow, as the Lua API built it: what the payload carries and what the
/// runner executes. Tasks are identified by their slug, unique within the flow.
public struct FlowSpec: Sendable, Equatable {
    public var name: String
    public var tasks: [TaskSpec]
    public var edges: [EdgeSpec]
    public var constants: [ConstantSpec]
    /// The tasks whose states decide the flow's; nil means the terminal tasks.
    public var referenceTasks: [String]?
    /// Environment, run config, executor and storage, each a map with a "type" (or absent).
    public var configuration: [String: Value]

    public static let configurationKeys = ["environment", "run_config", "executor", "storage"]

    public var parameters: [TaskSpec] { tasks.filter { $0.parameter != nil } }

    /// The executor the flow runs with: its environment's, else its own (nil: none set).
    public var executor: Value? { configuration["environment"]?["executor"] ?? configuration["executor"] }

    public func task(_ slug: String) -> TaskSpec? { tasks.first { $0.slug == slug } }
}

/// One task of a flow. Parameters are tasks too: their result is the parameter's value.
public struct TaskSpec: Sendable, Equatable {
    public var slug: String
    public var name: String
    /// Where the task was created, for messages.
    public var source: SourcePosition
    /// The names of the Lua function's parameters, in order.
    public var argumentNames: [String]
    public var isVararg: Bool
    public var maxRetries: Int
    public var retryDelay: Double
    public var timeout: Double?
    public var trigger: Trigger
    public var skipOnUpstreamSkip: Bool
    public var tags: [String]
    public var nout: Int?
    public var checkpoint: Bool?
    /// Prefect 1's `task_run_name`: a template of `{field}`s (arguments, context fields,
    /// parameters) naming each run of the task (see `TaskCall.runName`).
    public var taskRunName: String?
    /// Whether the task has `state_handlers` or `on_failure` (Lua functions, called where it runs).
    public var hasStateHandlers = false
    public var parameter: ParameterSpec?
}

public struct ParameterSpec: Sendable, Equatable {
    public var defaultValue: Value
    public var required: Bool
    public init(defaultValue: Value, required: Bool) { self.defaultValue = defaultValue; self.required = required }
}

/// A dependency. With a key, the upstream result is passed as that argument (its `index`-th
/// element when the upstream has `nout`); mapped edges are iterated over, flattened ones
/// (`dk.flatten`) over the upstream's list of lists made one list.
public struct EdgeSpec: Sendable, Equatable {
    public var upstream: String
    public var downstream: String
    public var key: String?
    public var mapped: Bool
    public var flattened = false
    public var index: Int?
    public var source: SourcePosition
}

/// A constant argument of a task.
public struct ConstantSpec: Sendable, Equatable {
    public var task: String
    public var key: String
    public var value: Value
    public var mapped: Bool
}

