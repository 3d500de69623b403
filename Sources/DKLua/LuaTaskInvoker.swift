internal import CLua
import DKCore
import DKHTTP

/// Calls tasks of the flow a `LuaHost` selected, in that host's Lua state: the task's
/// function with its arguments and `dk.context`, under its timeout; the outcome read back
/// from what the call returned or raised (`dk.fail`, `dk.skip`, an error, Ctrl-C).
final class LuaTaskInvoker: TaskInvoker {
    private let host: LuaHost
    /// The metatable that shows the run's fields under each call's `dk.context`, made once per
    /// flow run.
    private var runFields: RunFields?

    /// A class: comparing a copied-out tuple with each call's run cost a no-op task more than
    /// pushing its arguments.
    private final class RunFields {
        let run: FlowRunContext
        let fields: [String: Value]
        let metatable: Int32

        init(_ run: FlowRunContext, metatable: Int32) {
            (self.run, fields, self.metatable) = (run, run.fields, metatable)
        }
    }
    /// The shared part of each task's identity, made once per task and shared by its copies
    /// (a flow of 100,000 calls of one task makes one, not 100,000).
    private var identityParts: [TaskOrigin: TaskIdentity.TaskPart] = [:]
    /// The stores of the locations used so far (an S3 store reads its credentials once).
    private var stores: [ResultLocation: ResultStore] = [:]
    /// The last task storage made, and what it was made from: the tasks of a run share a few
    /// (one, for most flows), and making one per call (the default location from the
    /// environment, paths joined, the stores looked up) cost more than hashing its identity.
    /// A class: copying the tuple out of an optional cost a no-op task more than its lookup.
    private final class MadeStorage {
        let result: ResultLocation?
        let flowResult: ResultLocation?
        let run: String
        let storage: TaskStorage

        init(_ task: TaskSpec, _ run: String, _ storage: TaskStorage) {
            (result, flowResult, self.run, self.storage) = (task.result, task.flowResult, run, storage)
        }
    }
    private var lastStorage: MadeStorage?

    init(host: LuaHost) { self.host = host }

    deinit {
        if let runFields { host.lua.unref(runFields.metatable) }
    }

    func invoke(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        guard call.task.hasStateHandlers else { return attempt(call, log: log) }
        let running: TaskState
        switch handle(call, from: TaskState(.pending), to: TaskState(.running), log: log) {
        case .handled(let state) where state.kind == .running: running = state
        case let other: return other
        }
        let outcome = attempt(call, log: log)
        if outcome == .interrupted { return outcome }
        if case .ended = outcome { return outcome }
        return handle(call, from: running, to: TaskRules.state(after: outcome), log: log)
    }

    func settle(_ call: TaskCall, _ state: TaskState, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        handle(call, from: TaskState(.pending), to: state, log: log)
    }

    /// The task's state handlers for one change, in its context: the state they leave, or
    /// the task ended Failed when one of them raised an error.
    private func handle(_ call: TaskCall, from old: TaskState, to new: TaskState,
                        log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        host.currentLog = log
        defer { host.endTaskOutput() }
        do {
            return .handled(try host.stateChanged(task: call.task.slug, from: old, to: new) { try self.pushContext(call) })
        } catch {
            return .ended(TaskState(.failed, message: "\(error)"))
        }
    }

    /// One call of the task's function.
    private func attempt(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        guard let flowRef = host.activeFlowReference else { return .failed(message: "no flow selected", traceback: nil) }
        let lua = host.lua
        let L = lua.L
        let base = lua.top
        defer {
            lua_settop(L, base)
            host.endTaskOutput()
        }
        host.currentLog = log
        // Secrets the arguments hold by name are read here, where the task runs.
        let arguments: [String: Value]
        do { arguments = try call.arguments.mapValues { try $0.resolvingSecrets() } } catch {
            return .ended(TaskState(.failed, message: "task '\(call.task.name)': \(error)"))
        }
        lua.pushRef(host.handlerReference)
        lua.pushRef(host.invokeReference)
        lua.pushRef(flowRef)
        lua.push(call.task.slug)
        do {
            try lua.push(fields: arguments)
            try pushRunFields(call.run)
            // Most tasks never read dk.context: its table is made at the first read. A
            // `task_run_name` is formatted here, so that a bad template fails the task
            // whether or not it reads its context.
            if call.task.taskRunName == nil {
                lua_pushboolean(L, 1)
            } else {
                try pushContext(call)
            }
        } catch {
            return .ended(TaskState(.failed, message: "\(error)"))
        }
        let outerContext = host.currentContext
        host.currentContext = { try self.pushContext(call) }
        defer { host.currentContext = outerContext }
        lua.arm(timeout: call.task.timeout)
        let status = lua_pcall(L, 4, 1, base + 1)
        lua.disarm()
        // Stopped is stopped, even if the task caught the error and returned.
        if lua.interrupted { return .interrupted }
        if lua.timedOut { return .timedOut(message: "Task timed out after \(Clock.describe(call.task.timeout ?? 0))") }
        if let code = lua.exitCalled {
            return .failed(message: "the task called os.exit(\(code))", traceback: status == LUA_OK ? nil : lua.popError().traceback)
        }
        if status == LUA_OK {
            do {
                return .success(try lua.value(at: -1, path: "result"))
            } catch {
                return .failed(message: "task '\(call.task.name)' returned a value that cannot cross Lua states: \(error)", traceback: nil)
            }
        }
        if let (signal, message) = lua.signal(at: -1) {
            switch signal {
            case "SKIP": return .skipped(message: message)
            case "FAIL": return .failed(message: message, traceback: nil)
            case "PAUSE": return .paused(message: message)
            default:  // LOOP
                lua.rawField(-1, "result")
                do {
                    return .looped(result: try lua.value(at: -1, path: "loop result"), message: message)
                } catch {
                    return .failed(message: "task '\(call.task.name)' looped with a value that cannot cross Lua states: \(error)",
                                   traceback: nil)
                }
            }
        }
        let error = lua.popError()
        return .failed(message: error.message, traceback: error.traceback)
    }

    func identityPart(of task: TaskSpec) -> TaskIdentity.TaskPart {
        let origin = self.origin(of: task)
        if let known = identityParts[origin] { return known }
        let part = TaskIdentity.TaskPart(task: task, code: functionText(of: task))
        identityParts[origin] = part
        return part
    }

    /// What a task's description (all but its slug and source) and its function's text come
    /// from: its name, its Lua function and its options table (`dk._task_origin`). The Lua
    /// objects live as long as the flow, so their addresses name them.
    private struct TaskOrigin: Hashable {
        let name: String
        let function: UnsafeRawPointer?
        let options: UnsafeRawPointer?
    }

    private func origin(of task: TaskSpec) -> TaskOrigin {
        let lua = host.lua
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        guard let flowRef = host.activeFlowReference else { return TaskOrigin(name: task.slug, function: nil, options: nil) }
        lua.pushRef(host.dkReference)
        lua.rawField(-1, "_task_origin")
        lua.pushRef(flowRef)
        lua.push(task.slug)
        guard (try? lua.pcall(nargs: 2, nresults: 2)) != nil else { return TaskOrigin(name: task.slug, function: nil, options: nil) }
        return TaskOrigin(name: task.name, function: lua_topointer(lua.L, -2), options: lua_topointer(lua.L, -1))
    }

    /// The lines of the script or module that define the task's function, from the recorded
    /// sources (the same on a worker, which reads them from the payload).
    func functionText(of task: TaskSpec) -> [UInt8] {
        let lua = host.lua
        let base = lua.top
        defer { lua_settop(lua.L, base) }
        var text: [UInt8] = []
        if let flowRef = host.activeFlowReference {
            lua.pushRef(host.dkReference)
            lua.rawField(-1, "_function_span")
            lua.pushRef(flowRef)
            lua.push(task.slug)
            if (try? lua.pcall(nargs: 2, nresults: 3)) != nil, let source = lua.string(at: -3) {
                let first = Int(lua_tointegerx(lua.L, -2, nil)), last = Int(lua_tointegerx(lua.L, -1, nil))
                text = Self.lines(of: source, first, last, in: host.sources)
            }
        }
        return text
    }

    /// Lines `first` to `last` of the chunk `source` ("@name": a recorded file), or the
    /// chunk name and the span when its text is not recorded.
    private static func lines(of source: String, _ first: Int, _ last: Int, in sources: SourceRecorder) -> [UInt8] {
        let name = source.hasPrefix("@") ? String(source.dropFirst()) : nil
        let files = [sources.script].compactMap { $0 } + sources.modules.values
        guard let name, let file = files.first(where: { $0.chunkName == name }), first > 0 else {
            return Array("\(source):\(first)-\(last)".utf8)
        }
        let all = file.text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return Array(all[min(first - 1, all.count) ..< min(last, all.count)].joined(separator: [UInt8(ascii: "\n")]))
    }

    func storage(of task: TaskSpec, run: String) throws -> TaskStorage {
        if let last = lastStorage, last.run == run, last.result == task.result, last.flowResult == task.flowResult {
            return last.storage
        }
        let storage = try TaskStorage(task: task, run: run, stores: resultStore)
        lastStorage = MadeStorage(task, run, storage)
        return storage
    }

    func resultStore(_ location: ResultLocation) throws -> ResultStore {
        if let known = stores[location] { return known }
        let store: ResultStore
        switch location {
        case .local(let dir): store = LocalResultStore(dir: dir)
        case .s3(let s3): store = try S3ResultStore(s3)
        }
        stores[location] = store
        return store
    }

    /// Makes the metatable that shows `run`'s fields under each call's `dk.context`, unless
    /// it is made already.
    private func pushRunFields(_ run: FlowRunContext) throws {
        if let runFields, runFields.run == run { return }
        let lua = host.lua
        if let old = runFields { lua.unref(old.metatable) }
        lua_createtable(lua.L, 0, 1)
        try lua.push(Value(textKeys: run.fields))
        lua.setField(-2, "__index")
        runFields = RunFields(run, metatable: lua.ref())
    }

    /// `dk.context` for the call: its own fields, over the run's (shared through a metatable).
    private func pushContext(_ call: TaskCall) throws {
        let lua = host.lua
        try pushRunFields(call.run)
        var fields = call.contextFields()
        // The run's fields join the call's only for a template to read (most tasks have none).
        if call.task.taskRunName != nil, let name = try call.runName(context: fields.merging(runFields!.fields) { mine, _ in mine }) {
            fields["task_run_name"] = .text(name)
        }
        try lua.push(fields: fields)
        lua.pushRef(runFields!.metatable)
        lua_setmetatable(lua.L, -2)
    }
}
