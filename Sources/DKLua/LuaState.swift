internal import CLua
import DKCore

/// An error raised in Lua, with the message Lua gave it (which starts with file:line).
public struct LuaError: CategorizedError, Equatable {
    /// A script that raises while it builds its flow is bad input.
    public var exitStatus: ExitStatus { .badInput }

    public let message: String
    /// The stack traceback, when the error came through the message handler.
    public let traceback: String?
    public init(_ message: String, traceback: String? = nil) { self.message = message; self.traceback = traceback }
    public var description: String { message }
}

/// Owns one Lua state: standard libraries open, dkrun's deadline hook installed, and a
/// pointer to the Swift host in the state's extra space for the host functions to find.
/// Lua errors never cross Swift frames: everything that can raise runs under `pcall`.
final class LuaState {
    let L: OpaquePointer
    private let info: UnsafeMutablePointer<dk_state_info>

    /// - Parameter cancellation: a flag besides Ctrl-C that stops this state's Lua code.
    init(cancellation: CancellationFlag? = nil) {
        L = luaL_newstate()
        info = .allocate(capacity: 1)
        info.initialize(to: dk_state_info(host: nil, deadline: 0, timed_out: 0, interrupted: 0,
                                          interrupt_flag: Interruption.flag, cancel_flag: cancellation?.pointer,
                                          script_hooks: 0, caller: nil))
        dk_lua_set_info(L, info)
        luaL_openlibs(L)
        dk_lua_install_hook(L)
    }

    /// Makes `host` the object host functions of this state are called for (not retained).
    func attach(host: AnyObject) { info.pointee.host = Unmanaged.passUnretained(host).toOpaque() }

    deinit {
        lua_close(L)
        info.deallocate()
    }

    /// The host object a host function was called for.
    static func host<T: AnyObject>(of L: OpaquePointer?, as: T.Type) -> T {
        Unmanaged<T>.fromOpaque(dk_lua_info(L)!.pointee.host).takeUnretainedValue()
    }

    var top: Int32 { lua_gettop(L) }
    func pop(_ n: Int32 = 1) { lua_pop(L, n) }

    /// Compiles a chunk and leaves it on the stack.
    func load(_ source: [UInt8], chunkName: String) throws {
        let status = source.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buf.count, 1)) {
                luaL_loadbuffer(L, $0, buf.count, chunkName)
            }
        }
        if source.isEmpty && status == LUA_OK { return }
        guard status == LUA_OK else { throw popError() }
    }

    /// Loads a binary chunk of dkrun's own (never a user's: Lua does not verify bytecode) and
    /// leaves it on the stack; false, with the stack as it was, when Lua refuses it.
    func loadBinary(_ bytecode: [UInt8], chunkName: String) -> Bool {
        let status = bytecode.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { luaL_loadbufferx(L, $0.baseAddress, $0.count, chunkName, "b") }
        }
        if status != LUA_OK { pop() }
        return status == LUA_OK
    }

    /// Compiles a chunk of the user's (a script, a REPL line) so that its own `return f(...)`
    /// is no tail call. A tail call replaces its caller's frame, so an error that the API
    /// raises in `f` (`return Flow{..., bad = 1}`) would find no user file:line on the stack.
    /// Lua compiles no tail call in a block that holds a to-be-closed variable, and nil is a
    /// valid one: the declaration goes before the chunk's first line, on it, so that every
    /// line keeps its number. Functions the chunk defines still make tail calls.
    func loadKeepingFrame(_ source: [UInt8], chunkName: String) throws {
        try load(Self.frameKeeper + source, chunkName: chunkName)
    }

    private static let frameKeeper = Array("local _dkrun_keeps_this_frame <close> = nil; ".utf8)

    /// Calls the function under its `nargs` arguments, with `handler` (a stack index, 0 for none)
    /// as the message handler. On error the handler's result is popped and thrown.
    func pcall(nargs: Int32, nresults: Int32, handler: Int32 = 0) throws {
        guard lua_pcall(L, nargs, nresults, handler) == LUA_OK else { throw popError() }
    }

    /// Pops an error value and makes a LuaError of it, splitting off a traceback.
    /// The signal (`dk.skip`, `dk.fail`, `dk.loop`, `dk.pause`) raised as the error at `index`:
    /// its name and message; nil for any other error.
    func signal(at index: Int32) -> (name: String, message: String)? {
        guard lua_type(L, index) == LUA_TTABLE else { return nil }
        let table = lua_absindex(L, index)
        defer { lua_settop(L, -3) }
        rawField(table, "signal")
        rawField(table, "message")
        guard let name = string(at: -2), ["SKIP", "FAIL", "LOOP", "PAUSE"].contains(name) else { return nil }
        return (name, string(at: -1) ?? "")
    }

    func popError() -> LuaError {
        defer { pop() }
        guard let s = string(at: -1) else { return LuaError("(error object is a \(typeName(at: -1)) value)") }
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        if let i = lines.firstIndex(of: "stack traceback:") {
            return LuaError(lines[..<i].joined(separator: "\n"), traceback: lines[i...].joined(separator: "\n"))
        }
        return LuaError(s)
    }

    func string(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        let p = lua_tolstring(L, index, &length)!
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    func typeName(at index: Int32) -> String { String(cString: lua_typename(L, lua_type(L, index))) }

    /// Pushes a string. Through its UTF-8 buffer: handing Lua the String itself as a C string
    /// made a copy of it (`utf8CString`), a heap allocation per key and value pushed.
    func push(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in utf8.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) } }
    }

    /// Sets field `name` of the table at `table` to the value on top (popping it), without metamethods.
    func setField(_ table: Int32, _ name: String) {
        let t = lua_absindex(L, table)
        push(name)
        lua_rotate(L, -2, 1)
        lua_rawset(L, t)
    }

    /// Pushes field `name` of the table at `table`, without metamethods.
    func rawField(_ table: Int32, _ name: String) {
        let t = lua_absindex(L, table)
        push(name)
        lua_rawget(L, t)
    }

    /// Stores the value on top in the registry (popping it) and returns its reference.
    func ref() -> Int32 { luaL_ref(L, DK_LUA_REGISTRYINDEX) }
    func pushRef(_ r: Int32) { lua_rawgeti(L, DK_LUA_REGISTRYINDEX, lua_Integer(r)) }
    func unref(_ r: Int32) { luaL_unref(L, DK_LUA_REGISTRYINDEX, r) }

    /// Pushes a table of Swift functions.
    func pushFunctions(_ functions: [(String, dk_swift_function)]) {
        lua_createtable(L, 0, Int32(functions.count))
        for (name, f) in functions {
            dk_lua_pushswiftfunction(L, f)
            setField(-2, name)
        }
    }

    /// Arms the timeout (if any) for the next call and clears the flags that say how it ended.
    func arm(timeout: Double?) {
        info.pointee.deadline = timeout.map { dk_monotonic_seconds() + $0 } ?? 0
        info.pointee.timed_out = 0
        info.pointee.interrupted = 0
        exitCalled = nil
    }

    /// Stops the deadline; the flags keep saying why the call ended. A call that ran past its
    /// deadline timed out even if nothing stopped it (a long C function such as `string.rep`).
    func disarm() {
        if deadline.stop == .timedOut { record(.timedOut) }
        info.pointee.deadline = 0
    }

    var timedOut: Bool { info.pointee.timed_out != 0 }
    var interrupted: Bool { info.pointee.interrupted != 0 }

    /// Whether `os.exit` ends dkrun (the script's top level, the REPL), or raises (during a run:
    /// a task, a hook, a state handler, a flow rebuilt elsewhere). See `during(exitEndsProcess:)`.
    private(set) var exitEndsProcess = false
    /// The code of the `os.exit` that raised since the last `arm`: a task that called it failed.
    var exitCalled: Int32?

    /// Runs `body` with `os.exit` ending dkrun or not, and puts the previous meaning back.
    func during<T>(exitEndsProcess ends: Bool, _ body: () throws -> T) rethrows -> T {
        let previous = exitEndsProcess
        exitEndsProcess = ends
        defer { exitEndsProcess = previous }
        return try body()
    }

    /// What stops blocking work in this state: the armed deadline (none outside tasks), Ctrl-C,
    /// the owner's cancellation. The same the hook stops Lua code for.
    var deadline: Deadline { StateFlags(info).deadline }

    /// Records that a host function stopped for `stop`, as the hook does for Lua code.
    func record(_ stop: Deadline.Stop) { StateFlags(info).record(stop) }
}

/// The deadline and flags of a state, for code that runs when no `LuaState` may be at hand:
/// the pipes of `io.popen`, whose handles Lua closes while it closes the state.
struct StateFlags {
    let info: UnsafeMutablePointer<dk_state_info>

    init(_ info: UnsafeMutablePointer<dk_state_info>) { self.info = info }

    /// The flags of the state `L` belongs to.
    init(of L: OpaquePointer?) { info = dk_lua_info(L) }

    var deadline: Deadline {
        Deadline(at: info.pointee.deadline > 0 ? info.pointee.deadline : nil,
                 interruptedBy: [info.pointee.interrupt_flag, info.pointee.cancel_flag].compactMap { $0 })
    }

    func record(_ stop: Deadline.Stop) {
        switch stop {
        case .timedOut: info.pointee.timed_out = 1
        case .interrupted: info.pointee.interrupted = 1
        }
    }
}
