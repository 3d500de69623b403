internal import CLua
import DKCore

/// The Lua side of the REPL: a host that may run flows, fed chunks of input the way lua.c
/// does (first as an expression, then as a statement; incomplete chunks ask for more).
public final class REPLSession {
    public let host: LuaHost

    public enum Outcome: Equatable {
        /// Ran; the text is what to print (nil for nothing).
        case done(String?)
        /// The chunk is incomplete: read another line and feed the whole again.
        case needsMore
        case failed(String)
    }

    public init(observer: RunObserver?) throws {
        host = try LuaHost(sources: .script(path: "=stdin", searchPath: .forScript(at: "./stdin")))
        host.allowsFlowRun = true
        host.flowRunObserver = observer
    }

    /// Runs a chunk of input and formats its results. `_` holds the first result after.
    public func feed(_ input: String, chunkName: String = "=stdin") -> Outcome {
        let L = host.lua.L
        let base = host.lua.top
        defer {
            lua_settop(L, base)
            host.flushWritten()
        }
        host.lua.pushRef(host.handlerReference)
        do {
            do {
                try host.lua.loadKeepingFrame(Array("return \(input);".utf8), chunkName: chunkName)
            } catch {
                try host.lua.loadKeepingFrame(Array(input.utf8), chunkName: chunkName)
            }
        } catch let error as LuaError {
            return error.message.hasSuffix("<eof>") ? .needsMore : .failed(error.message)
        } catch {
            return .failed("\(error)")
        }
        do {
            // os.exit ends the REPL, as in `lua` (not inside a flow run it starts).
            try host.lua.during(exitEndsProcess: true) {
                try host.lua.pcall(nargs: 0, nresults: LUA_MULTRET, handler: base + 1)
            }
        } catch let error as LuaError {
            return .failed(error.message)
        } catch {
            return .failed("\(error)")
        }
        let results = host.lua.top - base - 1
        guard results > 0 else { return .done(nil) }
        lua_pushvalue(L, base + 2)
        lua_setglobal(L, "_")
        return .done(try? format(from: base + 2, count: results))
    }

    private func format(from index: Int32, count: Int32) throws -> String? {
        host.lua.pushRef(host.dkReference)
        host.lua.rawField(-1, "_repl_format")
        for i in 0 ..< count { lua_pushvalue(host.lua.L, index + i) }
        try host.lua.pcall(nargs: count, nresults: 1)
        defer { host.lua.pop(2) }
        return host.lua.string(at: -1)
    }

    /// Calls dk._repl_<name>(arguments...) and returns its result as a value.
    public func helper(_ name: String, _ arguments: [Value] = []) throws -> Value {
        host.lua.pushRef(host.dkReference)
        defer { host.lua.pop() }
        host.lua.rawField(-1, "_repl_" + name)
        for a in arguments { try host.lua.push(a) }
        try host.lua.pcall(nargs: Int32(arguments.count), nresults: 1)
        defer { host.lua.pop() }
        return try host.lua.value(at: -1, path: name)
    }

    /// Runs a flow (the latest with that name, or the latest of all) with parameters.
    public func run(flow name: String?, parameters: [String: Value]) -> Outcome {
        let L = host.lua.L
        let base = host.lua.top
        defer {
            lua_settop(L, base)
            host.flushWritten()
        }
        host.lua.pushRef(host.handlerReference)
        host.lua.pushRef(host.dkReference)
        host.lua.rawField(-1, "_repl_run")
        lua_remove(L, -2)
        do {
            try host.lua.push(name.map(Value.text) ?? .null)
            try host.lua.push(Value(textKeys: parameters))
            try host.lua.pcall(nargs: 2, nresults: 1, handler: base + 1)
            return .done(try format(from: base + 2, count: 1))
        } catch let error as LuaError {
            return .failed(error.message)
        } catch {
            return .failed("\(error)")
        }
    }

    /// The description of a flow made in this session (by name, or the latest).
    public func describe(flow name: String?) throws -> FlowSpec {
        host.lua.pushRef(host.dkReference)
        host.lua.rawField(-1, "_repl_flow")
        try host.lua.push(name.map(Value.text) ?? .null)
        do {
            try host.lua.pcall(nargs: 1, nresults: 1)
        } catch {
            host.lua.pop()
            throw error
        }
        let ref = host.lua.ref()
        host.lua.pop()
        defer { host.lua.unref(ref) }
        return try host.describe(ref: ref)
    }

    public func completions(for text: String) -> [String] {
        ((try? helper("complete", [.text(text)]))?.arrayValue ?? []).compactMap(\.stringValue)
    }
}
