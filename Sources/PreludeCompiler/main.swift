// The prelude's compiler, run by the PreludeBytecode build plugin:
//   PreludeCompiler OUTPUT.swift CHUNK.lua...
// writes a Swift file that gives DKLua each chunk's bytecode (Prelude.bytecode, by file name
// without .lua) and the Lua release that compiled it (Prelude.bytecodeRelease). The bytecode
// keeps its debug information and the name the prelude gives the chunk ("=dk/flows"), so that
// errors and tracebacks read `dk/flows:12:` as from the source.
import CLua
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("PreludeCompiler: \(message)\n".utf8))
    exit(1)
}

/// The chunk's bytecode, compiled under `chunkName`.
func compile(_ source: [UInt8], chunkName: String) -> [UInt8] {
    guard let L = luaL_newstate() else { fail("cannot make a Lua state") }
    defer { lua_close(L) }
    let status = source.withUnsafeBufferPointer { buf in
        buf.withMemoryRebound(to: CChar.self) { luaL_loadbuffer(L, $0.baseAddress, $0.count, chunkName) }
    }
    guard status == LUA_OK else { fail(String(cString: lua_tostring(L, -1))) }
    var bytes: [UInt8] = []
    withUnsafeMutablePointer(to: &bytes) { bytes in
        _ = lua_dump(L, { _, data, size, context in
            context!.assumingMemoryBound(to: [UInt8].self).pointee.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }, bytes, 0)
    }
    return bytes
}

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first, arguments.count > 1 else { fail("usage: PreludeCompiler OUTPUT.swift CHUNK.lua...") }
let names = arguments.dropFirst().sorted().map { ($0, URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent) }
var swift = """
    // Generated at build time by PreludeCompiler (Plugins/PreludeBytecode) from Sources/DKLua/Prelude.

    extension Prelude {
        static let bytecodeRelease = "\(String(cString: dk_lua_ident()))"
        static let bytecode: [String: [UInt8]] = [\(names.map { "\"\($0.1)\": \($0.1)_luac" }.joined(separator: ", "))]

    """
for (path, name) in names {
    guard let source = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    // Prelude.chunkNamePrefix, which this tool cannot import (DKLua is what it builds).
    let bytes = compile(Array(source), chunkName: "=dk/" + name)
    swift += "    private static let \(name)_luac: [UInt8] = [\(bytes.map(String.init).joined(separator: ","))]\n"
}
swift += "}\n"
do { try swift.write(toFile: output, atomically: true, encoding: .utf8) } catch { fail("cannot write \(output): \(error)") }
