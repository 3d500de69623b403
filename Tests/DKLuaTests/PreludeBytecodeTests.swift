internal import CLua
@testable import DKLua
import Testing

/// The prelude's bytecode, compiled at build time (Plugins/PreludeBytecode), against its source.
@Suite struct PreludeBytecodeTests {
    /// Byte for byte what Lua makes of the source under the chunk's name, debug information
    /// included: errors and tracebacks keep their `dk/flows:12:` positions.
    @Test(arguments: Prelude.chunks.map(\.name))
    func bytecodeIsTheSourceCompiledUnderTheChunksName(name: String) throws {
        let source = try #require(Prelude.chunks.first { $0.name == name }?.source)
        let lua = LuaState()
        try lua.load(source, chunkName: Prelude.chunkNamePrefix + name)
        var dumped: [UInt8] = []
        withUnsafeMutablePointer(to: &dumped) { dumped in
            _ = lua_dump(lua.L, { _, data, size, context in
                context!.assumingMemoryBound(to: [UInt8].self).pointee.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }, dumped, 0)
        }
        #expect(Prelude.bytecode[name] == dumped)
    }

    /// The Lua release this build compiled with is the one it runs with.
    @Test func thisBuildLoadsTheBytecode() {
        #expect(Prelude.useBytecode)
    }

    /// Bytecode Lua refuses (another release's, a truncated chunk) leaves the stack as it was,
    /// and the prelude compiles the source instead.
    @Test func refusedBytecodeLeavesTheStackAsItWas() throws {
        let lua = LuaState()
        let bytecode = try #require(Prelude.bytecode["checks"])
        let top = lua.top
        #expect(!lua.loadBinary(Array(bytecode.prefix(100)), chunkName: "=dk/checks"))
        #expect(!lua.loadBinary(Array("return 1".utf8), chunkName: "=dk/checks"))
        #expect(lua.top == top)
        #expect(lua.loadBinary(bytecode, chunkName: "=dk/checks"))
        #expect(lua.top == top + 1)
    }
}
