#if canImport(Glibc)
import Glibc
#endif
internal import CLua
import DKCore

/// The dk API every Lua state runs first: Lua chunks embedded in the binary (Prelude/*.lua),
/// run in order. Each is called as `chunk(dk, host, internal)`: `dk` is the API table the
/// chunks fill, `host` the Swift functions the prelude may call plus `version`, and `internal`
/// a private table through which a chunk shares its helpers with the chunks after it. The
/// chunks build the task graph in Lua tables; the host reads it back with `dk._describe` and
/// calls tasks with `dk._invoke`.
enum Prelude {
    /// The start of every chunk's name: `where()` (with isChunk) and checks.lua's `user_level`
    /// (which repeats it) skip the frames whose source starts so, to find the user's file:line.
    /// Tracebacks show it as "dk/flows:12:".
    static let chunkNamePrefix = "=dk/"

    /// Whether a Lua function's source (lua_Debug.source) is one of the chunks.
    static func isChunk(source: UnsafePointer<CChar>) -> Bool {
        strncmp(source, chunkNamePrefix, chunkNamePrefix.utf8.count) == 0
    }

    /// In the order they run: each uses what the ones before it put in `dk` and `internal`.
    static let chunks: [(name: String, source: [UInt8])] = [
        ("checks", PackageResources.checks_lua),
        ("config", PackageResources.config_lua),
        ("flows", PackageResources.flows_lua),
        ("control", PackageResources.control_lua),
        ("globals", PackageResources.globals_lua),
        ("repl", PackageResources.repl_lua),
    ]

    /// Whether to load the chunks' bytecode (`bytecode`, compiled at build time by
    /// Plugins/PreludeBytecode) rather than compile their source: a tenth of the cost, in every
    /// Lua state. Only under the Lua release that compiled it, which a binary chunk's header
    /// does not check (a patch release may change what its instructions mean); the source
    /// otherwise, or when Lua refuses the bytecode.
    static let useBytecode = String(cString: dk_lua_ident()) == bytecodeRelease

    /// Runs the chunks in `lua` and leaves the dk table on top of its stack.
    static func load(into lua: LuaState, host functions: [(String, dk_swift_function)]) throws {
        let dk = lua.top + 1
        lua_createtable(lua.L, 0, 0)
        lua.pushFunctions(functions)
        lua.push(Product.version)
        lua.setField(-2, "version")
        lua_createtable(lua.L, 0, 0)  // internal
        for chunk in chunks {
            let chunkName = chunkNamePrefix + chunk.name
            if !(useBytecode && lua.loadBinary(bytecode[chunk.name] ?? [], chunkName: chunkName)) {
                try lua.load(chunk.source, chunkName: chunkName)
            }
            for argument in dk ... dk + 2 { lua_pushvalue(lua.L, argument) }
            try lua.pcall(nargs: 3, nresults: 0)
        }
        lua_settop(lua.L, dk)
    }
}
