#if canImport(Glibc)
import Glibc
#endif
internal import CLua
import DKCore

/// One Lua state running the dk API: it evaluates a flow script (recording every source it
/// loads), describes the flows the script returns, and is the `FlowHost` their runs use: its
/// task invoker, its environment hooks, `flow:run` from Lua. Use it from one thread at a
/// time; each thread of a thread pool has its own.
public final class LuaHost: FlowHost {
    let lua: LuaState
    /// The script and every module and file it loaded.
    public let sources: SourceRecorder
    /// Whether `flow:run` may run flows (the REPL and Lua tests); `dkrun FILE` runs the flow
    /// the script returns, and a rebuilt flow must not run itself.
    public var allowsFlowRun = false
    /// The observer of the run in progress: it also receives `print` outside tasks.
    public var runObserver: RunObserver?
    /// Receives the events of runs started from Lua with `flow:run` (the REPL's).
    public var flowRunObserver: RunObserver?
    /// Runs flows whose executor is a Dask cluster; without one, such runs are refused.
    public var clusterRunner: ClusterRunner?
    /// Whether `print` outside tasks (with no observer) goes to stderr rather than stdout.
    public var printsToStderr = false
    /// Where the running task's log lines go (dk.log, print inside a task).
    var currentLog: ((LogLevel, String) -> Void)?
    /// Pushes the running task's `dk.context` table, for its first read (`task_context`).
    var currentContext: (() throws -> Void)?
    /// The secrets this host's script has read (`dk.secrets.get`): a flow description holds
    /// references to them instead of their values (`describe`).
    var secretsRead = SecretSet()
    /// What the script writes with io.write and to io.stdout/io.stderr, until a line is whole.
    private var written: [ScriptStream: OutputLines] = [:]

    private var handlerRef: Int32 = 0
    private var invokeRef: Int32 = 0
    private var describeRef: Int32 = 0
    private var hookRef: Int32 = 0
    private var stateChangedRef: Int32 = 0
    private var collectRef: Int32 = 0
    private var dkRef: Int32 = 0
    var handlerReference: Int32 { handlerRef }
    var dkReference: Int32 { dkRef }
    var invokeReference: Int32 { invokeRef }
    private var flows: [(name: String, ref: Int32)] = []
    /// The flow whose tasks the invoker calls and whose hooks run.
    private(set) var activeFlowReference: Int32?

    /// - Parameter cancellation: a flag besides Ctrl-C that stops this host's Lua code.
    public init(sources: FlowSources, cancellation: CancellationFlag? = nil) throws {
        self.sources = SourceRecorder(sources)
        lua = LuaState(cancellation: cancellation)
        lua.attach(host: self)
        try loadPrelude()
    }

    private func loadPrelude() throws {
        try Prelude.load(into: lua, host: HostFunctions.table)
        for (name, slot) in [("_msghandler", \LuaHost.handlerRef), ("_invoke", \.invokeRef),
                             ("_describe", \.describeRef), ("_collect", \.collectRef),
                             ("_environment_hook", \.hookRef), ("_state_changed", \.stateChangedRef)] as [(String, ReferenceWritableKeyPath<LuaHost, Int32>)] {
            lua.rawField(-1, name)
            self[keyPath: slot] = lua.ref()
        }
        if case .payload = sources.origin {
            // A rebuild must not print the script's top-level output again (rebuild() lifts this).
            lua_pushboolean(lua.L, 1)
            lua.setField(-2, "_silent")
        }
        dkRef = lua.ref()
    }

    // MARK: Evaluating scripts

    /// Runs the script and keeps the flows it returns; returns their names.
    @discardableResult
    public func evaluate() throws -> [String] {
        let file = try sources.loadScript()
        let base = lua.top
        lua.pushRef(collectRef)
        lua.pushRef(handlerRef)
        try lua.loadKeepingFrame(file.text, chunkName: "@" + file.chunkName)
        defer {
            lua_settop(lua.L, base)
            flushWritten()
        }
        // os.exit in the script ends dkrun, as in `lua`; not in a flow rebuilt for a run.
        var rebuilding = false
        if case .payload = sources.origin { rebuilding = true }
        try lua.during(exitEndsProcess: !rebuilding) {
            try lua.pcall(nargs: 0, nresults: LUA_MULTRET, handler: base + 2)
        }
        lua_remove(lua.L, base + 2)
        try lua.pcall(nargs: lua.top - base - 1, nresults: 2)
        guard lua_type(lua.L, -2) == LUA_TTABLE else {
            throw LuaError("\(file.chunkName): \(lua.string(at: -1) ?? "bad return value")")
        }
        lua.pop()
        let count = Int(lua_rawlen(lua.L, -1))
        for ref in flows.map(\.ref) { lua.unref(ref) }
        flows = []
        for i in 1 ... max(count, 1) where count > 0 {
            lua_rawgeti(lua.L, -1, lua_Integer(i))
            lua.rawField(-1, "name")
            let name = lua.string(at: -1) ?? "?"
            lua.pop()
            flows.append((name, lua.ref()))
        }
        return flows.map(\.name)
    }

    /// Runs a chunk of Lua (REPL input, tests) and returns its results as values.
    public func execute(_ source: String, chunkName: String) throws -> [Value] {
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        lua.pushRef(handlerRef)
        try lua.load(Array(source.utf8), chunkName: chunkName)
        try lua.pcall(nargs: 0, nresults: LUA_MULTRET, handler: base + 1)
        return try (base + 2 ..< lua.top + 1).map { try lua.value(at: $0, path: "result") }
    }

    /// The description of the flow the script returned under `name` (the only one when nil),
    /// which later task calls run against.
    /// - Parameter describedAgain: false when nothing will describe the flow again (`dkrun
    ///   FLOW.lua`, a thread's rebuilt flow): its Lua tables that only describing it reads
    ///   are let go, and its graph can no longer change (`dk._release_graph`).
    public func selectFlow(named name: String?, describedAgain: Bool = true) throws -> FlowSpec {
        let scriptName = sources.script?.chunkName ?? "script"
        let chosen: (name: String, ref: Int32)
        if let name {
            let matches = flows.filter { $0.name == name }
            guard let first = matches.first else {
                throw FlowError("\(scriptName): no flow named '\(name)' (the script returns: \(flowList))")
            }
            guard matches.count == 1 else { throw FlowError("\(scriptName): the script returns \(matches.count) flows named '\(name)'") }
            chosen = first
        } else {
            guard let only = flows.first else {
                throw FlowError("\(scriptName): the script returns no flow (end it with `return flow`)")
            }
            guard flows.count == 1 else {
                throw FlowError("\(scriptName): the script returns \(flows.count) flows (\(flowList)); pick one with --flow NAME")
            }
            chosen = only
        }
        activeFlowReference = chosen.ref
        let spec = try describe(ref: chosen.ref)
        if !describedAgain {
            lua.pushRef(dkRef)
            defer { lua.pop() }
            lua.rawField(-1, "_release_graph")
            lua.pushRef(chosen.ref)
            try lua.pcall(nargs: 1, nresults: 0)
        }
        // The description's tables are garbage now, and the run would carry them (Lua collects
        // when its heap has doubled): a big flow's run starts without them.
        if dk_gc_count(lua.L) > Self.collectsAbove { dk_gc_collect(lua.L) }
        return spec
    }

    /// The Lua heap (KB) above which a flow's description is collected before its run.
    private static let collectsAbove: Int32 = 16 * 1024

    private var flowList: String { flows.map { "'\($0.name)'" }.joined(separator: ", ") }

    /// Describes the flow held by a registry reference; the secrets the script read are
    /// references in its values.
    func describe(ref: Int32) throws -> FlowSpec {
        lua.pushRef(describeRef)
        lua.pushRef(ref)
        try lua.pcall(nargs: 1, nresults: 1)
        defer { lua.pop() }
        return try FlowSpec(reading: LuaDescriptionReader(lua: lua, index: lua.top, path: "flow", secrets: secretsRead,
                                                                 strings: SharedStrings()))
    }

    /// The names of the secrets the script read (at its top level, before any run).
    public var secretNamesRead: [String] { Array(Set(secretsRead.entries.map(\.name))).sorted() }

    // MARK: Output

    /// `print`: the line io.write began on stdout, ended with `text`; inside a task a line of
    /// its log, elsewhere where `printOutsideTasks` prints.
    func print(_ text: String) {
        emit((written[.stdout]?.takePartial() ?? "") + text, to: .stdout)
    }

    /// `print` outside tasks: a log line of the run while one is observed, else a line on
    /// stdout (stderr when stdout carries JSON events).
    private func printOutsideTasks(_ text: String) {
        if let observer = runObserver {
            observer.handle(.log(nil, .info, text, time: Clock.wall()))
        } else {
            let stream = printsToStderr ? stderr : stdout
            fputs(SecretMask.apply(text) + "\n", stream)
            fflush(stream)  // as it happens, also into a pipe (the REPL's)
        }
    }

    /// Text the script wrote to stdout or stderr (io.write, io.stderr:write): each whole line
    /// goes where `print`'s would, a log line of the task inside one (stderr's at WARNING).
    func write(_ bytes: [UInt8], to stream: ScriptStream) {
        written[stream, default: OutputLines()].append(bytes) { emit($0, to: stream) }
    }

    /// Emits what was written without its line's end (after a task's attempt, a hook, a chunk).
    func flushWritten() {
        for (stream, var lines) in written {
            lines.flush { emit($0, to: stream) }
        }
        written = [:]
    }

    private func emit(_ line: String, to stream: ScriptStream) {
        if let log = currentLog {
            log(stream == .stderr ? .warning : .info, line)
        } else if stream == .stderr {
            fputs(SecretMask.apply(line) + "\n", stderr)
        } else {
            printOutsideTasks(line)
        }
    }

    /// Ends a task's output: what it wrote is flushed to its log, and log lines stop going there.
    func endTaskOutput() {
        flushWritten()
        currentLog = nil
    }

    /// A fresh host that rebuilds the payload's flow from its sources alone, checking that
    /// the script builds the same DAG again. The rebuilt flow only runs tasks (a worker, a
    /// Job's pod, a thread): its graph is let go (`selectFlow`), as in `dkrun FLOW.lua`.
    public static func rebuild(_ payload: Payload, cancellation: CancellationFlag? = nil) throws -> LuaHost {
        let host = try LuaHost(sources: .payload(payload), cancellation: cancellation)
        try host.evaluate()
        host.printsAgain()
        let rebuilt = try host.selectFlow(named: payload.flow.name, describedAgain: false)
        guard Payload.dagHash(rebuilt) == Payload.dagHash(payload.flow) else {
            throw PayloadError("rebuilding flow '\(payload.flow.name)' from its payload gave a different DAG: "
                + "the script builds its flow differently on each run (does it depend on time, randomness or pairs() order?)")
        }
        return host
    }

    /// After a rebuild's evaluation, `print` outside tasks (environment hooks) prints again.
    private func printsAgain() {
        lua.pushRef(dkRef)
        lua_pushnil(lua.L)
        lua.setField(-2, "_silent")
        lua.pop()
    }

    // MARK: Running

    /// A run here of one of this script's flows with the given executor choice (the flow that
    /// `selectFlow` chose, or that `flow:run` is called on: its hooks run), its LocalRun's env
    /// and working_dir (relative to the script's directory) in force.
    /// - Parameter serialised: the flow's payload and its bytes, when the caller has made them
    ///   already (`dkrun` serialises before it runs), so that threads and Dask do not make
    ///   them again (the bytes only Dask needs: nil, they are made again if it does).
    /// - Parameter runID: the run's id (`flow_run_id`), when the caller has chosen it.
    public func execution(of flow: FlowSpec, runID: String = UUID4.make(), parameters given: [String: Value], executor: ExecutorChoice,
                          observer: RunObserver?, serialised: (payload: Payload, bytes: [UInt8]?)? = nil) throws -> FlowExecution {
        try execution(of: FlowGraph(flow), runID: runID, parameters: given, executor: executor, observer: observer, serialised: serialised)
    }

    /// The same, of a flow validated already (a flow of 100,000 tasks keeps one graph).
    public func execution(of graph: FlowGraph, runID: String = UUID4.make(), parameters given: [String: Value], executor: ExecutorChoice,
                          observer: RunObserver?, serialised: (payload: Payload, bytes: [UInt8]?)? = nil) throws -> FlowExecution {
        let flow = graph.spec
        let parameters = try graph.resolveParameters(given)
        let process = try LocalRunProcess(flow: flow, flowDirectory: sources.scriptDirectory ?? Files.currentDirectory)
        return FlowExecution(graph: graph, runID: runID, parameters: parameters, executor: executor, host: self, clusterRunner: clusterRunner,
                             payload: { [sources] in serialised?.payload ?? sources.payload(for: flow, parameters: parameters) },
                             payloadBytes: serialised?.bytes, observer: observer, process: process)
    }

    /// The invoker keeps this host (and its Lua state) alive.
    public func makeTaskInvoker() -> TaskInvoker { LuaTaskInvoker(host: self) }

    public var canRebuildElsewhere: Bool { sources.script != nil }

    public func threadInvokers(for payload: Payload) -> @Sendable (CancellationFlag) throws -> TaskInvoker {
        { try LuaHost.rebuild(payload, cancellation: $0).makeTaskInvoker() }
    }

    /// Runs the active flow's environment hook (Prefect 1's on_start / on_exit), if any.
    public func runHook(_ hook: EnvironmentHook) throws {
        guard let flowRef = activeFlowReference else { return }
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        lua.pushRef(handlerRef)
        lua.pushRef(hookRef)
        lua.pushRef(flowRef)
        lua.push(hook.rawValue)
        defer { flushWritten() }
        do {
            try lua.pcall(nargs: 2, nresults: 0, handler: base + 1)
        } catch let error as LuaError {
            throw RunFailure(error.message)
        }
    }

    public func flowStateChanged(from old: TaskState, to new: TaskState) -> TaskState {
        do { return try stateChanged(task: nil, from: old, to: new) } catch {
            return TaskState(.failed, message: "\(error)")
        }
    }

    /// A state handler that raised an error (not a signal): its owner fails, as in Prefect 1.
    struct StateHandlerError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs the state handlers of task `slug` (nil: the flow's) for a change of state and
    /// returns the state they leave; `pushContext` pushes the task's `dk.context`. As in
    /// Prefect 1, a handler that raises a signal puts its owner in that signal's state; one
    /// that fails throws.
    func stateChanged(task slug: String?, from old: TaskState, to new: TaskState,
                      pushContext: (() throws -> Void)? = nil) throws -> TaskState {
        guard let flowRef = activeFlowReference else { return new }
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        lua.pushRef(handlerRef)
        lua.pushRef(stateChangedRef)
        lua.pushRef(flowRef)
        if let slug { lua.push(slug) } else { lua_pushnil(lua.L) }
        do {
            for state in [old, new] {
                var table: [String: Value] = ["state": .text(state.kind.rawValue), "result": state.result]
                if let message = state.message { table["message"] = .text(message) }
                try lua.push(Value(textKeys: table))
            }
        } catch {
            return TaskState(.failed, message: "A state cannot be handed to the state handlers: \(error)")
        }
        if let pushContext { try pushContext() } else { lua_pushnil(lua.L) }
        if lua_pcall(lua.L, 5, 1, base + 1) == LUA_OK {
            do {
                let returned = try lua.value(at: -1, path: "state")
                guard let kind = returned["state"]?.stringValue.flatMap(StateKind.init(rawValue:)) else { return new }
                return TaskState(kind, message: returned["message"]?.stringValue, result: returned["result"] ?? .null)
            } catch {
                throw StateHandlerError(description: "A state handler returned a state that cannot cross Lua states: \(error)")
            }
        }
        if let (signal, message) = lua.signal(at: -1) {
            switch signal {
            case "SKIP": return TaskState(.skipped, message: message)
            case "PAUSE": return TaskState(.paused, message: message)
            default: return TaskState(.failed, message: message)
            }
        }
        throw StateHandlerError(description: "Exception raised while calling state handlers: \(lua.popError().message)")
    }

    /// `flow:run{...}` from Lua: the flow on top of the stack, its options under it.
    func runFromLua(flowIndex: Int32, options: Value) throws -> Value {
        guard allowsFlowRun else {
            throw FlowError("flow:run is for the REPL and Lua tests; `dkrun FILE` runs the flow the script returns")
        }
        lua_pushvalue(lua.L, flowIndex)
        let ref = lua.ref()
        defer { lua.unref(ref) }
        let spec = try describe(ref: ref)
        var given: [String: Value] = [:]
        for (k, v) in options["parameters"]?.mapValue ?? [:] {
            guard let name = k.stringValue else { throw FlowError("parameter names must be strings") }
            given[name] = v
        }
        let executor: ExecutorChoice
        if let text = options["executor"]?.stringValue {
            executor = try ExecutorChoice.parse(text, cores: 1)
        } else {
            guard case .here(let configured) = try FlowPlacement.decide(for: spec, override: nil, cores: 2) else {
                throw FlowError("flow '\(spec.name)' runs on Kubernetes: `dkrun FILE` submits it as a Job (or pick an executor to run it here)")
            }
            executor = configured
        }
        let previous = activeFlowReference
        activeFlowReference = ref
        defer { activeFlowReference = previous }
        let result = try lua.during(exitEndsProcess: false) {
            try execution(of: spec, parameters: given, executor: executor, observer: flowRunObserver).run()
        }
        return LuaHost.stateValue(result)
    }

    static func stateValue(_ result: FlowRunResult) -> Value {
        func one(_ s: TaskState) -> Value {
            var m: [Value: Value] = ["state": .text(s.kind.rawValue), "result": s.result]
            if let msg = s.message { m["message"] = .text(msg) }
            if !s.children.isEmpty { m["children"] = .array(s.children.map(one)) }
            return .map(m)
        }
        var state = one(result.state).mapValue!
        state["tasks"] = Value(textKeys: result.taskStates.mapValues(one))
        return .map(state)
    }
}
