internal import CLua
import DKCore

/// Calls tasks of the flow a `LuaHost` selected, in that host's Lua state: the task's
/// function with its arguments and `dk.context`, under its timeout; the outcome read back
/// from what the call returned or raised (`dk.fail`, `dk.skip`, an error, Ctrl-C).
final class LuaTaskInvoker: TaskInvoker {
    private let host: LuaHost
    /// The parameters table of `dk.context`, made once while the values stay the same.
    private var cachedParameters: (values: [String: Value], ref: Int32)?

    init(host: LuaHost) { self.host = host }

    deinit {
        if let cachedParameters { host.lua.unref(cachedParameters.ref) }
    }

    func invoke(_ call: TaskCall, log: @escaping (LogLevel, String) -> Void) -> TaskOutcome {
        guard let flowRef = host.activeFlowReference else { return .failed(message: "no flow selected", traceback: nil) }
        let lua = host.lua
        let L = lua.L
        let base = lua.top
        defer {
            lua_settop(L, base)
            host.currentLog = nil
        }
        host.currentLog = log
        lua.pushRef(host.handlerReference)
        lua.pushRef(host.invokeReference)
        lua.pushRef(flowRef)
        lua.push(call.task.slug)
        lua.push(Value(textKeys: call.arguments))
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

    /// `dk.context` for the call.
    private func pushContext(_ call: TaskCall) {
        let lua = host.lua
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
            lua.push(Value(textKeys: call.parameters))
            cachedParameters = (call.parameters, lua.ref())
        }
        lua.pushRef(cachedParameters!.ref)
        lua.setField(-2, "parameters")
    }
}
