internal import CLua
import DKCore

/// Reads a flow description straight from the Lua table `dk._describe` returns, without
/// building a `Value` tree first (the bulk of validating a large flow otherwise). Its arrays
/// of tasks, edges and constants make each element as it is read, into one table: an element
/// is read whole before the next. Its values
/// hold the secrets the script read as references (`SecretSet.referencing`), never in clear.
struct LuaDescriptionReader: DescriptionReader {
    let lua: LuaState
    /// Absolute stack index of the table.
    let index: Int32
    let path: String
    let secrets: SecretSet
    /// The strings read so far, shared by the readers of one description.
    let strings: SharedStrings

    private func field<T>(_ key: String, _ expected: String, _ read: () -> T?) throws -> T? {
        lua.rawField(index, key)
        defer { lua.pop() }
        if lua_type(lua.L, -1) == LUA_TNIL { return nil }
        guard let v = read() else {
            throw FlowDescriptionError("\(path).\(key): \(expected) expected, got \(lua.typeName(at: -1))")
        }
        return v
    }

    func string(_ key: String) throws -> String? { try field(key, "string") { strings.string(at: -1, in: lua) } }

    func int(_ key: String) throws -> Int64? {
        try field(key, "integer") { lua_isinteger(lua.L, -1) != 0 ? Int64(lua_tointegerx(lua.L, -1, nil)) : nil }
    }

    func number(_ key: String) throws -> Double? {
        try field(key, "number") { lua_type(lua.L, -1) == LUA_TNUMBER ? lua_tonumberx(lua.L, -1, nil) : nil }
    }

    func bool(_ key: String) throws -> Bool? {
        try field(key, "boolean") { lua_type(lua.L, -1) == LUA_TBOOLEAN ? lua_toboolean(lua.L, -1) != 0 : nil }
    }

    func value(_ key: String) throws -> Value? {
        lua.rawField(index, key)
        defer { lua.pop() }
        if lua_type(lua.L, -1) == LUA_TNIL { return nil }
        return secrets.referencing(try lua.value(at: -1, path: "\(path).\(key)"))
    }

    func strings(_ key: String) throws -> [String] {
        lua.rawField(index, key)
        defer { lua.pop() }
        if lua_type(lua.L, -1) == LUA_TNIL { return [] }
        guard lua_type(lua.L, -1) == LUA_TTABLE else {
            throw FlowDescriptionError("\(path).\(key): array expected, got \(lua.typeName(at: -1))")
        }
        let n = Int(lua_rawlen(lua.L, -1))
        return try (0 ..< n).map { i in
            lua_rawgeti(lua.L, -1, lua_Integer(i + 1))
            defer { lua.pop() }
            guard let s = lua.string(at: -1) else {
                throw FlowDescriptionError("\(path).\(key)[\(i + 1)]: string expected, got \(lua.typeName(at: -1))")
            }
            return s
        }
    }

    func each<T>(_ key: String, _ body: (LuaDescriptionReader) throws -> T) throws -> [T] {
        lua.rawField(index, key)
        defer { lua.pop() }
        switch lua_type(lua.L, -1) {
        case LUA_TNIL: return []
        case LUA_TTABLE: break
        default: throw FlowDescriptionError("\(path).\(key): array expected, got \(lua.typeName(at: -1))")
        }
        // `dk._describe` makes the elements of its arrays as they are read (their metatable's
        // __len and __index), which runs Lua code: protected calls.
        guard dk_len_protected(lua.L, -1) == LUA_OK else { throw lua.popError() }
        let n = Int(lua_tointegerx(lua.L, -1, nil))
        lua.pop()
        var out: [T] = []
        out.reserveCapacity(n)
        for i in 0 ..< n {
            guard dk_geti_protected(lua.L, -1, lua_Integer(i + 1)) == LUA_OK else { throw lua.popError() }
            defer { lua.pop() }
            out.append(try body(LuaDescriptionReader(lua: lua, index: lua.top, path: "\(path).\(key)[\(i + 1)]", secrets: secrets,
                                                   strings: strings)))
        }
        return out
    }
}

/// One Swift string for each Lua string a description reads: a flow of 100,000 tasks has
/// 200,000 source positions ("flow.lua:12", a task's and an edge's) among a few distinct
/// ones, each a heap copy of its own otherwise, held for the whole run. Keyed by the Lua
/// string's address, which stays while the flow's tables, where the description's strings
/// come from, hold it (Lua interns short strings; a long one made twice is read twice). Strings of up to 15 bytes, which Swift
/// keeps inline, are not kept here.
final class SharedStrings {
    private var byAddress: [UnsafeRawPointer: String] = [:]

    func string(at index: Int32, in lua: LuaState) -> String? {
        guard lua_type(lua.L, index) == LUA_TSTRING else { return nil }
        var length = 0
        let p = lua_tolstring(lua.L, index, &length)!
        guard length > 15 else { return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self) }
        let address = UnsafeRawPointer(p)
        if let known = byAddress[address] { return known }
        let made = String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
        byAddress[address] = made
        return made
    }
}
