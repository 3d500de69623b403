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
///
/// A task's copies (each call of a task in a flow is one: a fan of 100,000 calls of `mid`)
/// differ only in their slug and source; the rest (`Shared`) is one object that they share
/// when read from a description (`Shared.Interner`), and that a change copies first.
public struct TaskSpec: Sendable, Equatable {
    public var slug: String
    /// Where the task was created, for messages.
    public var source: SourcePosition
    private var box: Box

    /// Everything of a task but its slug and source.
    struct Shared: Sendable, Equatable {
        var name: String
        var argumentNames: [String] = []
        var isVararg = false
        var maxRetries = 0
        var retryDelay: Double = 0
        var timeout: Double?
        var trigger = Trigger.allSuccessful
        var skipOnUpstreamSkip = true
        var tags: [String] = []
        var nout: Int?
        var checkpoint: Bool?
        var result: ResultLocation?
        var flowResult: ResultLocation?
        var target: String?
        var cacheFor: Double?
        var cacheKey: String?
        var cacheValidator: CacheValidator?
        var taskRunName: String?
        var hasStateHandlers = false
        var parameter: ParameterSpec?
        var resources: [String: Double] = [:]
        var priority = 0
        var fuses = true

        /// Hands out one box for equal `Shared`s of tasks read one after another: the box
        /// of the last task with the same name, when equal.
        struct Interner {
            private var last: [String: Box] = [:]
            mutating func box(_ shared: Shared) -> Box {
                if let box = last[shared.name], box.shared == shared { return box }
                let box = Box(shared)
                last[shared.name] = box
                return box
            }
        }
    }

    final class Box: Sendable {
        let shared: Shared
        init(_ shared: Shared) { self.shared = shared }
    }

    init(slug: String, source: SourcePosition, box: Box) {
        self.slug = slug
        self.source = source
        self.box = box
    }

    init(slug: String, name: String, source: SourcePosition, argumentNames: [String], isVararg: Bool, maxRetries: Int,
         retryDelay: Double, timeout: Double?, trigger: Trigger, skipOnUpstreamSkip: Bool, tags: [String], nout: Int?,
         checkpoint: Bool?, parameter: ParameterSpec?) {
        self.init(slug: slug, source: source, box: Box(Shared(
            name: name, argumentNames: argumentNames, isVararg: isVararg, maxRetries: maxRetries, retryDelay: retryDelay,
            timeout: timeout, trigger: trigger, skipOnUpstreamSkip: skipOnUpstreamSkip, tags: tags, nout: nout,
            checkpoint: checkpoint, parameter: parameter)))
    }

    public static func == (a: TaskSpec, b: TaskSpec) -> Bool {
        a.slug == b.slug && a.source == b.source && (a.box === b.box || a.box.shared == b.box.shared)
    }

    /// Changes what the task shares with its copies (it gets a box of its own).
    private mutating func change(_ body: (inout Shared) -> Void) {
        var shared = box.shared
        body(&shared)
        box = Box(shared)
    }

    /// Changes every task's shared part, keeping copies sharing one box.
    static func changeAll(_ tasks: inout [TaskSpec], _ body: (inout Shared) -> Void) {
        var changed: [ObjectIdentifier: Box] = [:]
        for i in tasks.indices {
            let old = tasks[i].box
            if let new = changed[ObjectIdentifier(old)] { tasks[i].box = new; continue }
            tasks[i].change(body)
            changed[ObjectIdentifier(old)] = tasks[i].box
        }
    }

    public var name: String { get { box.shared.name } set { change { $0.name = newValue } } }
    /// The names of the Lua function's parameters, in order.
    public var argumentNames: [String] { get { box.shared.argumentNames } set { change { $0.argumentNames = newValue } } }
    public var isVararg: Bool { get { box.shared.isVararg } set { change { $0.isVararg = newValue } } }
    public var maxRetries: Int { get { box.shared.maxRetries } set { change { $0.maxRetries = newValue } } }
    public var retryDelay: Double { get { box.shared.retryDelay } set { change { $0.retryDelay = newValue } } }
    public var timeout: Double? { get { box.shared.timeout } set { change { $0.timeout = newValue } } }
    public var trigger: Trigger { get { box.shared.trigger } set { change { $0.trigger = newValue } } }
    public var skipOnUpstreamSkip: Bool { get { box.shared.skipOnUpstreamSkip } set { change { $0.skipOnUpstreamSkip = newValue } } }
    public var tags: [String] { get { box.shared.tags } set { change { $0.tags = newValue } } }
    public var nout: Int? { get { box.shared.nout } set { change { $0.nout = newValue } } }
    /// Whether a successful run's result is written to its result location (a task with a
    /// `target` always is).
    public var checkpoint: Bool? { get { box.shared.checkpoint } set { change { $0.checkpoint = newValue } } }
    /// Where the task keeps results: its own location (`result`), else its flow's (`flowResult`).
    public var result: ResultLocation? { get { box.shared.result } set { change { $0.result = newValue } } }
    /// The flow's result location, which the task uses when it names none (not part of the
    /// task's description: its flow's).
    public var flowResult: ResultLocation? { get { box.shared.flowResult } set { change { $0.flowResult = newValue } } }
    /// Prefect 1's `target`: a key template (`{field}`s as `task_run_name`); when a result is
    /// stored there the task does not run.
    public var target: String? { get { box.shared.target } set { change { $0.target = newValue } } }
    /// Seconds a cached result is used for (Prefect 1's `cache_for`); nil: not cached.
    public var cacheFor: Double? { get { box.shared.cacheFor } set { change { $0.cacheFor = newValue } } }
    /// Tasks with the same key share cache entries; nil: the flow's name and the task's.
    public var cacheKey: String? { get { box.shared.cacheKey } set { change { $0.cacheKey = newValue } } }
    /// nil: `duration_only`, as in Prefect 1.
    public var cacheValidator: CacheValidator? { get { box.shared.cacheValidator } set { change { $0.cacheValidator = newValue } } }
    /// Prefect 1's `task_run_name`: a template of `{field}`s (arguments, context fields,
    /// parameters) naming each run of the task (see `TaskCall.runName`).
    public var taskRunName: String? { get { box.shared.taskRunName } set { change { $0.taskRunName = newValue } } }
    /// Whether the task has `state_handlers` or `on_failure` (Lua functions, called where it runs).
    public var hasStateHandlers: Bool { get { box.shared.hasStateHandlers } set { change { $0.hasStateHandlers = newValue } } }
    public var parameter: ParameterSpec? { get { box.shared.parameter } set { change { $0.parameter = newValue } } }
    /// What a worker must offer to run the task (Dask's resource restrictions): the
    /// `resources` option and Prefect 1's `dask-resource:NAME=AMOUNT` tags, merged.
    public var resources: [String: Double] { get { box.shared.resources } set { change { $0.resources = newValue } } }
    /// Ready tasks with a higher priority start first (Dask's priority); default 0.
    public var priority: Int { get { box.shared.priority } set { change { $0.priority = newValue } } }
    /// Whether a Dask run may run the task inside a fused chain (`fuse = false`: never;
    /// docs/dask.md, Fusion).
    public var fuses: Bool { get { box.shared.fuses } set { change { $0.fuses = newValue } } }

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

