#if canImport(Glibc)
import Glibc
#endif
internal import CLua
import DKCore

/// The Swift functions the prelude receives as `host`. Each runs inside a Lua call: it must
/// not throw through Lua, so errors are pushed as messages and returned as -1, which the
/// C trampoline raises (see CLua's shim.h).
enum HostFunctions {
    static let table: [(String, dk_swift_function)] = [
        ("log", log),
        ("yaml_load_file", yamlLoadFile),
        ("find_module", findModule),
        ("run_flow", runFlow),
        ("where", callerPosition),
        ("print", printOutsideTasks),
    ]

    private static func host(_ L: OpaquePointer?) -> LuaHost { LuaState.host(of: L, as: LuaHost.self) }

    private static func fail(_ L: OpaquePointer?, _ message: String) -> Int32 {
        lua_pushlstring(L, message, message.utf8.count)
        return -1
    }

    private static func string(_ L: OpaquePointer?, _ index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        let p = lua_tolstring(L, index, &length)!
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    /// log(level, message): a log line of the running task (or of the script, outside tasks).
    private static let log: dk_swift_function = { L in
        let h = host(L)
        let level = string(L, 1).flatMap(LogLevel.init(name:)) ?? .info
        let message = string(L, 2) ?? ""
        if let sink = h.currentLog {
            sink(level, message)
        } else if let observer = h.runObserver {
            observer.handle(.log(nil, level, message, time: Clock.wall()))
        } else {
            fputs("\(level.name) \(message)\n", stderr)
        }
        return 0
    }

    /// print(text): `print` outside tasks: a log line of the run while one is observed, else
    /// a line on stdout (stderr when stdout carries JSON events).
    private static let printOutsideTasks: dk_swift_function = { L in
        let h = host(L)
        let text = string(L, 1) ?? ""
        if let observer = h.runObserver {
            observer.handle(.log(nil, .info, text, time: Clock.wall()))
        } else {
            fputs(text + "\n", h.printsToStderr ? stderr : stdout)
        }
        return 0
    }

    /// where(): "file:line" of the innermost Lua function that is neither the prelude nor C.
    private static let callerPosition: dk_swift_function = { L in
        var ar = lua_Debug()
        var level: Int32 = 1
        while lua_getstack(L, level, &ar) != 0 {
            lua_getinfo(L, "Sl", &ar)
            if strcmp(ar.source, "=dk") != 0 && strcmp(ar.what, "C") != 0 {
                let file = withUnsafeBytes(of: &ar.short_src) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                host(L).lua.push("\(file):\(ar.currentline)")
                return 1
            }
            level += 1
        }
        lua_pushstring(L, "?")
        return 1
    }

    /// yaml_load_file(path): the YAML document in a file next to the flow, as a table.
    private static let yamlLoadFile: dk_swift_function = { L in
        guard let path = string(L, 1) else { return fail(L, "file path expected") }
        do {
            let bytes = try host(L).readFile(path)
            let value = try YAML.load(String(decoding: bytes, as: UTF8.self), source: path)
            host(L).lua.push(value)
            return 1
        } catch {
            return fail(L, "\(error)")
        }
    }

    /// find_module(name): the module's source and chunk name, or nil and the places searched.
    private static let findModule: dk_swift_function = { L in
        guard let name = string(L, 1) else { return fail(L, "module name expected") }
        switch host(L).findModule(name) {
        case .success(let file):
            host(L).lua.push(Value.string(file.text))
            host(L).lua.push(file.chunkName)
        case .failure(let notFound):
            lua_pushnil(L)
            host(L).lua.push(notFound.searched)
        }
        return 2
    }

    /// run_flow(flow, options): runs the flow here and returns its state as a table.
    private static let runFlow: dk_swift_function = { L in
        let h = host(L)
        do {
            let options = try h.lua.value(at: 2, path: "options")
            let state = try h.runFromLua(flowIndex: 1, options: options)
            h.lua.push(state)
            return 1
        } catch {
            return fail(L, "\(error)")
        }
    }
}
