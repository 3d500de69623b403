internal import CLua
import DKCore

/// Where a flow's Lua sources come from: a script on disk, or a payload (a worker or a
/// thread rebuilding the flow, with no file system access for sources).
public enum FlowSources {
    case script(path: String, searchPath: ModuleSearchPath)
    case payload(Payload)
}

/// One Lua state running the dk API: it evaluates a flow script, describes the flows the
/// script returns, records every source it loads, and invokes tasks. Use it from one thread
/// at a time; each thread of a thread pool has its own.
public final class LuaHost: TaskInvoker {
    let lua: LuaState
    public let sources: FlowSources
    /// The script and every module and file it loaded, for the payload.
    public private(set) var script: SourceFile?
    public private(set) var modules: [String: SourceFile] = [:]
    public private(set) var files: [String: [UInt8]] = [:]
    /// Whether `flow:run` may run flows (the REPL and Lua tests); `dkrun FILE` runs the flow
    /// the script returns, and a rebuilt flow must not run itself.
    public var allowsFlowRun = false
    /// The observer of the run in progress: it also receives `print` outside tasks.
    private(set) var runObserver: RunObserver?
    /// Receives the events of runs started from Lua with `flow:run` (the REPL's).
    public var flowRunObserver: RunObserver?
    /// Runs flows whose executor is a Dask cluster; without one, such runs are refused.
    public var clusterRunner: ClusterRunner?
    /// Whether `print` outside tasks (with no observer) goes to stderr rather than stdout.
    public var printsToStderr = false

    private var handlerRef: Int32 = 0
    var handlerReference: Int32 { handlerRef }
    var dkReference: Int32 { dkRef }
    private var invokeRef: Int32 = 0
    private var describeRef: Int32 = 0
    private var hookRef: Int32 = 0
    private var collectRef: Int32 = 0
    private var dkRef: Int32 = 0
    private var flows: [(name: String, ref: Int32)] = []
    private var activeFlowRef: Int32?
    var currentLog: ((LogLevel, String) -> Void)?
    private var cachedParameters: (values: [String: Value], ref: Int32)?

    public static let version = "0.1.0"

    private let cancellation: CancellationFlag?

    /// - Parameter cancellation: a flag besides Ctrl-C that stops this host's Lua code.
    public init(sources: FlowSources, cancellation: CancellationFlag? = nil) throws {
        self.sources = sources
        self.cancellation = cancellation
        lua = LuaState(cancellation: cancellation)
        lua.attach(host: self)
        try loadPrelude()
    }


    private func loadPrelude() throws {
        try Prelude.load(into: lua, host: HostFunctions.table, version: LuaHost.version)
        for (name, slot) in [("_msghandler", \LuaHost.handlerRef), ("_invoke", \.invokeRef),
                             ("_describe", \.describeRef), ("_collect", \.collectRef),
                             ("_environment_hook", \.hookRef)] as [(String, ReferenceWritableKeyPath<LuaHost, Int32>)] {
            lua.rawField(-1, name)
            self[keyPath: slot] = lua.ref()
        }
        if case .payload = sources {
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
        let file: SourceFile
        switch sources {
        case .script(let path, _):
            file = SourceFile(chunkName: path, text: try Files.read(path))
        case .payload(let payload):
            file = payload.script
        }
        script = file
        let base = lua.top
        lua.pushRef(collectRef)
        lua.pushRef(handlerRef)
        try lua.load(file.text, chunkName: "@" + file.chunkName)
        defer { lua_settop(lua.L, base) }
        try lua.pcall(nargs: 0, nresults: LUA_MULTRET, handler: base + 2)
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
    public func selectFlow(named name: String?) throws -> FlowSpec {
        let scriptName = script?.chunkName ?? "script"
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
        activeFlowRef = chosen.ref
        return try describe(ref: chosen.ref)
    }

    private var flowList: String { flows.map { "'\($0.name)'" }.joined(separator: ", ") }

    /// Describes the flow held by a registry reference.
    func describe(ref: Int32) throws -> FlowSpec {
        lua.pushRef(describeRef)
        lua.pushRef(ref)
        try lua.pcall(nargs: 1, nresults: 1)
        defer { lua.pop() }
        return try FlowSpec(reading: LuaDescriptionReader(lua: lua, index: lua.top, path: "flow"))
    }

    /// A payload for the flow: its description, the parameter values and every source.
    public func payload(for flow: FlowSpec, parameters: [String: Value]) -> Payload {
        Payload(flow: flow, parameters: parameters, script: script ?? SourceFile(chunkName: "?", text: []),
                modules: modules, files: files)
    }

    /// A fresh host that rebuilds the payload's flow from its sources alone, checking that
    /// the script builds the same DAG again.
    public static func rebuild(_ payload: Payload, cancellation: CancellationFlag? = nil) throws -> LuaHost {
        let host = try LuaHost(sources: .payload(payload), cancellation: cancellation)
        try host.evaluate()
        host.printsAgain()
        let rebuilt = try host.selectFlow(named: payload.flow.name)
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

    // MARK: Sources for require and spec files

    /// The places `require` looked in for a module it did not find, as Lua lists them.
    struct ModuleNotFound: Error { let searched: String }

    /// The source of a module, recorded for the payload; or nil and the places searched.
    func findModule(_ name: String) -> Result<SourceFile, ModuleNotFound> {
        if let known = modules[name] { return .success(known) }
        switch sources {
        case .payload(let payload):
            if let file = payload.modules[name] {
                modules[name] = file
                return .success(file)
            }
            // The standard library ships with every dkrun, so a task may load it lazily.
            if name.hasPrefix("dk."), let stdlib = ModuleSearchPath.standardLibrary {
                return Self.load(name, from: ModuleSearchPath(directories: [stdlib])).map { file in
                    modules[name] = file
                    return file
                }
            }
            return .failure(ModuleNotFound(searched: "no module '\(name)' in the flow's payload"))
        case .script(_, let searchPath):
            return Self.load(name, from: searchPath).map { file in
                modules[name] = file
                return file
            }
        }
    }

    private static func load(_ name: String, from searchPath: ModuleSearchPath) -> Result<SourceFile, ModuleNotFound> {
        guard let path = searchPath.find(name) else {
            return .failure(ModuleNotFound(searched: searchPath.candidates(for: name).map { "no file '\($0)'" }.joined(separator: "\n\t")))
        }
        do {
            return .success(SourceFile(chunkName: path, text: try Files.read(path)))
        } catch {
            return .failure(ModuleNotFound(searched: "\(error)"))
        }
    }

    /// A file the script reads while building its flow (a Pod spec), relative to its directory.
    func readFile(_ path: String) throws -> [UInt8] {
        if let known = files[path] { return known }
        switch sources {
        case .payload(let payload):
            guard let bytes = payload.files[path] else { throw PayloadError("\(path): not in the flow's payload") }
            files[path] = bytes
            return bytes
        case .script(let script, _):
            let bytes = try Files.read(Files.join(Files.directory(of: script), path))
            files[path] = bytes
            return bytes
        }
    }

    // MARK: Running

    /// Runs a flow of this host's script with the given executor choice.
    /// - Parameter serialised: the flow's payload and its bytes, when the caller has made them
    ///   already (`dkrun` serialises before it runs), so that threads and Dask do not make
    ///   them again.
    public func run(_ flow: FlowSpec, parameters given: [String: Value], executor: ExecutorChoice,
                    observer: RunObserver?, serialised: (payload: Payload, bytes: [UInt8])? = nil) throws -> FlowRunResult {
        let graph = try FlowGraph(flow)
        let parameters = try graph.resolveParameters(given)
        let previousObserver = runObserver
        runObserver = observer
        defer { runObserver = previousObserver }
        if script == nil && executor != .local {
            // Other threads and Dask workers rebuild the flow by running its script again.
            throw FlowError("flow '\(flow.name)' was made in the REPL, so no script can rebuild it on other threads or "
                + "Dask workers: put it in a file that returns it and run that (or use executor local)")
        }
        let exec: Executor
        switch executor {
        case .local: exec = LocalExecutor(invoker: self)
        case .threads(let n):
            // This thread runs tasks with this host; the other threads rebuild the flow from
            // its payload, as a remote worker would.
            let payload = serialised?.payload ?? self.payload(for: flow, parameters: parameters)
            exec = ThreadExecutor(threads: n, callerInvoker: self) { try LuaHost.rebuild(payload, cancellation: $0) }
        case .dask(let settings):
            guard let clusterRunner else { throw FlowError("this dkrun cannot run flows on Dask") }
            try runEnvironmentHook("on_start")
            let bytes = serialised?.bytes ?? payload(for: flow, parameters: parameters).encoded()
            let result = try clusterRunner.run(graph: graph, payload: bytes, settings: settings, observer: observer)
            try runEnvironmentHook("on_exit")
            return result
        case .kubernetes:
            throw FlowError("flow '\(flow.name)' runs on Kubernetes: `dkrun FILE` submits it as a Job (or pick an executor to run it here)")
        }
        defer { exec.shutdown() }
        try runEnvironmentHook("on_start")
        let result = FlowRunner(graph: graph, parameters: parameters, executor: exec, observer: observer).run()
        try runEnvironmentHook("on_exit")
        return result
    }

    /// Runs the active flow's environment hook (Prefect 1's on_start / on_exit), if any.
    private func runEnvironmentHook(_ name: String) throws {
        guard let flowRef = activeFlowRef else { return }
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        lua.pushRef(handlerRef)
        lua.pushRef(hookRef)
        lua.pushRef(flowRef)
        lua.push(name)
        do {
            try lua.pcall(nargs: 2, nresults: 0, handler: base + 1)
        } catch let error as LuaError {
            throw FlowError("\(name) hook failed: \(error.message)")
        }
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
        let choice = try options["executor"]?.stringValue.map { try ExecutorChoice.parse($0, cores: 1) }
            ?? ExecutorChoice.decide(for: spec, override: nil, cores: 2)
        let previous = activeFlowRef
        activeFlowRef = ref
        defer { activeFlowRef = previous }
        let result = try run(spec, parameters: given, executor: choice, observer: flowRunObserver)
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
        state["tasks"] = .map(Dictionary(uniqueKeysWithValues: result.taskStates.map { (.text($0.key), one($0.value)) }))
        return .map(state)
    }

    // MARK: TaskInvoker

    public func invoke(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        guard let flowRef = activeFlowRef else { return .failed(message: "no flow selected", traceback: nil) }
        let L = lua.L
        let base = lua.top
        defer {
            lua_settop(L, base)
            currentLog = nil
        }
        currentLog = log
        lua.pushRef(handlerRef)
        lua.pushRef(invokeRef)
        lua.pushRef(flowRef)
        lua.push(call.task.slug)
        lua.push(Value.map(Dictionary(uniqueKeysWithValues: call.arguments.map { (.text($0.key), $0.value) })))
        pushContext(call)
        lua.arm(timeout: call.task.timeout)
        let status = lua_pcall(L, 4, 1, base + 1)
        lua.disarm()
        if status == LUA_OK {
            do {
                return .success(try lua.value(at: -1, path: "result"))
            } catch {
                return .failed(message: "task '\(call.task.name)' returned a value that cannot cross Lua states: \(error)", traceback: nil)
            }
        }
        if lua.interrupted { return .interrupted }
        if lua.timedOut { return .timedOut(message: "Task timed out after \(Clock.describe(call.task.timeout ?? 0))") }
        if lua_type(L, -1) == LUA_TTABLE {
            lua.rawField(-1, "signal")
            let signal = lua.string(at: -1)
            lua.rawField(-2, "message")
            let message = lua.string(at: -1) ?? ""
            if signal == "SKIP" { return .skipped(message: message) }
            if signal == "FAIL" { return .failed(message: message, traceback: nil) }
        }
        let error = lua.popError()
        return .failed(message: error.message, traceback: error.traceback)
    }

    private func pushContext(_ call: TaskCall) {
        lua_createtable(lua.L, 0, 8)
        lua.push(call.flowName); lua.setField(-2, "flow")
        lua.push(call.task.name); lua.setField(-2, "task")
        lua.push(call.task.slug); lua.setField(-2, "task_slug")
        lua_pushinteger(lua.L, lua_Integer(call.attempt)); lua.setField(-2, "attempt")
        if let i = call.id.mapIndex {
            lua_pushinteger(lua.L, lua_Integer(i)); lua.setField(-2, "map_index")
        }
        if cachedParameters?.values != call.parameters {
            if let old = cachedParameters { lua.unref(old.ref) }
            lua.push(Value.map(Dictionary(uniqueKeysWithValues: call.parameters.map { (.text($0.key), $0.value) })))
            cachedParameters = (call.parameters, lua.ref())
        }
        lua.pushRef(cachedParameters!.ref)
        lua.setField(-2, "parameters")
    }
}
