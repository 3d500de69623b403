/// The task graph of one flow, as the Lua API built it: what the payload carries and what the
/// runner executes. Tasks are identified by their slug, unique within the flow.
public struct FlowSpec: Sendable, Equatable {
    public var name: String
    public var tasks: [TaskSpec]
    public var edges: [EdgeSpec]
    public var constants: [ConstantSpec]
    /// The tasks whose states decide the flow's; nil means the terminal tasks.
    public var referenceTasks: [String]?
    /// Environment, run config, executor, storage and result location, each a map with a
    /// "type" (or absent).
    public var configuration: [String: Value]
    /// Prefect 1's tag concurrency limits, within one run: at most this many runs of tasks
    /// with the tag at once (docs/lua-api.md, "Limits per tag").
    public var limits: [String: Int] = [:]

    public static let configurationKeys = ["environment", "run_config", "executor", "storage", "result"]

    public var parameters: [TaskSpec] { tasks.filter { $0.parameter != nil } }

    /// The executor the flow runs with: its environment's, else its own (nil: none set).
    public var executor: Value? { configuration["environment"]?["executor"] ?? configuration["executor"] }

    public func task(_ slug: String) -> TaskSpec? { tasks.first { $0.slug == slug } }

    /// A warning for each limit that no task's tags name (a misspelt tag, say): such a limit
    /// limits nothing, which is allowed (one `--limit` for several flows) but said.
    public var unusedLimits: [String] {
        let tags = Set(tasks.flatMap(\.tags))
        return limits.keys.sorted().filter { !tags.contains($0) }.map {
            "limit \($0)=\(limits[$0]!) limits nothing: no task of flow '\(name)' has the tag '\($0)'"
        }
    }

    /// The flow's result location, nil: none named (checked when the description was read).
    public var result: ResultLocation? { configuration["result"].flatMap { try? ResultLocation(value: $0, path: "flow.result") } }
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
    /// Whether a successful run's result is written to its result location (a task with a
    /// `target` always is).
    public var checkpoint: Bool?
    /// Where the task keeps results: its own location (`result`), else its flow's (`flowResult`).
    public var result: ResultLocation?
    /// The flow's result location, which the task uses when it names none (not part of the
    /// task's description: its flow's).
    public var flowResult: ResultLocation?
    /// Prefect 1's `target`: a key template (`{field}`s as `task_run_name`); when a result is
    /// stored there the task does not run.
    public var target: String?
    /// Seconds a cached result is used for (Prefect 1's `cache_for`); nil: not cached.
    public var cacheFor: Double?
    /// Tasks with the same key share cache entries; nil: the flow's name and the task's.
    public var cacheKey: String?
    /// nil: `duration_only`, as in Prefect 1.
    public var cacheValidator: CacheValidator?
    /// Prefect 1's `task_run_name`: a template of `{field}`s (arguments, context fields,
    /// parameters) naming each run of the task (see `TaskCall.runName`).
    public var taskRunName: String?
    /// Whether the task has `state_handlers` or `on_failure` (Lua functions, called where it runs).
    public var hasStateHandlers = false
    public var parameter: ParameterSpec?
    /// What a worker must offer to run the task (Dask's resource restrictions): the
    /// `resources` option and Prefect 1's `dask-resource:NAME=AMOUNT` tags, merged.
    public var resources: [String: Double] = [:]
    /// Ready tasks with a higher priority start first (Dask's priority); default 0.
    public var priority = 0
    /// Whether a Dask run may run the task inside a fused chain (`fuse = false`: never;
    /// docs/dask.md, Fusion).
    public var fuses = true

    /// The location the task keeps results in: its own, its flow's, else the default.
    public var resultLocation: ResultLocation { result ?? flowResult ?? .defaultLocation }

    /// Whether a run of the task reads or writes stored results at all.
    public var usesStoredResults: Bool { checkpoint == true || target != nil || cacheFor != nil }
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

