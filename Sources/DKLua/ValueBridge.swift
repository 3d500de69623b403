internal import CLua
import DKCore

/// A value that cannot cross between Lua and Swift, with where in the value it was.
struct ValueBridgeError: CategorizedError {
    let path: String
    let problem: String
    var description: String { "\(path) \(problem)" }
    /// A value the script made that cannot cross Lua states.
    var exitStatus: ExitStatus { .badInput }

    init(_ error: ValueError, root: String) {
        path = error.path.text(root: root)
        problem = error.problem
    }
}

extension LuaState {
    /// Pushes a value: nil, booleans, integers, floats and strings as themselves, arrays as
    /// sequences from 1, maps as tables, a secret text as the string it stands for (its
    /// `<secret NAME>` text where a secret is missing: task arguments are resolved before,
    /// and fail the task then). Values come from decoders and from `value(at:)`, so they
    /// nest at most `Value.maxMessageDepth` levels (dkrun's wrappers around a value of
    /// `Value.maxDepth`); a deeper one is an error, and nothing is left pushed.
    func push(_ value: Value) throws {
        try bridging { try push(value, depth: 0) }
    }

    /// Pushes a table of text keys: `push(Value(textKeys: fields))` without making that map
    /// first (a task's arguments, and its `dk.context` when read, are pushed once per attempt).
    func push(fields: [String: Value]) throws {
        try bridging {
            try enter(0, limit: Value.maxMessageDepth)
            lua_createtable(L, 0, Int32(clamping: fields.count))
            for (k, v) in fields {
                try ValueError.at(.key(.text(k))) { try push(v, depth: 1) }
                setField(-2, k)
            }
        }
    }

    /// Runs `body`, which pushes one value; when the value cannot cross, nothing is left pushed.
    private func bridging(_ body: () throws -> Void) throws {
        let base = top
        do {
            try body()
        } catch let error as ValueError {
            lua_settop(L, base)
            throw ValueBridgeError(error, root: "value")
        }
    }

    private func push(_ value: Value, depth: Int) throws {
        switch value {
        case .null: lua_pushnil(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .int(let i): lua_pushinteger(L, lua_Integer(i))
        case .float(let d): lua_pushnumber(L, d)
        case .secret(let s): push(bytes: (try? s.resolved(SecretStore.lookup)) ?? Array(s.description.utf8))
        case .string(let s): push(bytes: s)
        case .array(let a):
            try enter(depth, limit: Value.maxMessageDepth)
            lua_createtable(L, Int32(clamping: a.count), 0)
            for (i, element) in a.enumerated() {
                try ValueError.at(.index(i + 1)) { try push(element, depth: depth + 1) }
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        case .map(let m):
            try enter(depth, limit: Value.maxMessageDepth)
            lua_createtable(L, 0, Int32(clamping: m.count))
            for (k, v) in m where !k.isNull {
                if case .float(let d) = k, d.isNaN { continue }  // Lua tables cannot hold a NaN key
                try ValueError.at(.inKey) { try push(k, depth: depth + 1) }
                try ValueError.at(.key(k)) { try push(v, depth: depth + 1) }
                lua_rawset(L, -3)
            }
        }
    }

    /// Pushes a byte string.
    func push(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress.map { p in p.withMemoryRebound(to: CChar.self, capacity: buf.count) { _ = lua_pushlstring(L, $0, buf.count) } }
                ?? { _ = lua_pushlstring(L, "", 0) }()
        }
    }

    /// Checks the depth of a table about to be pushed or read inside `depth` others, and
    /// makes room on Lua's stack for it and the key and value it holds while a call walks it
    /// (C code gets 20 slots; pushing past them without asking corrupts memory).
    private func enter(_ depth: Int, limit: Int) throws {
        guard depth < limit else { throw ValueError.tooDeep(limit: limit) }
        guard lua_checkstack(L, 3) != 0 else { throw ValueError("does not fit on Lua's stack") }
    }

    /// The value at `index`. A table whose keys are exactly 1...n is an array; other tables
    /// (and the empty table, which is written as an empty array) are maps. Functions,
    /// userdata, threads, cyclic tables, tables nested deeper than `Value.maxDepth` and keys
    /// that are not UTF-8 text are errors naming their place under `path`.
    func value(at index: Int32, path: String) throws -> Value {
        var visiting = Set<UnsafeRawPointer>()
        do {
            return try value(at: lua_absindex(L, index), depth: 0, visiting: &visiting)
        } catch let error as ValueError {
            throw ValueBridgeError(error, root: path)
        }
    }

    private func value(at index: Int32, depth: Int, visiting: inout Set<UnsafeRawPointer>) throws -> Value {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .int(Int64(lua_tointegerx(L, index, nil))) }
            return .float(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            var length = 0
            let p = lua_tolstring(L, index, &length)!
            return .string(Array(UnsafeRawBufferPointer(start: p, count: length)))
        case LUA_TTABLE:
            let identity = lua_topointer(L, index)!
            guard visiting.insert(identity).inserted else {
                throw ValueError("is part of a cycle (a table that contains itself)")
            }
            defer { visiting.remove(identity) }
            try enter(depth, limit: Value.maxDepth)
            return try table(at: index, depth: depth, visiting: &visiting)
        default:
            throw ValueError("is a \(typeName(at: index)), which cannot cross Lua states")
        }
    }

    private func table(at index: Int32, depth: Int, visiting: inout Set<UnsafeRawPointer>) throws -> Value {
        let length = Int(lua_rawlen(L, index))
        var count = 0
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            count += 1
            pop()
        }
        if count == length {
            var items: [Value] = []
            items.reserveCapacity(length)
            for i in 1 ... max(length, 1) where length > 0 {
                lua_rawgeti(L, index, lua_Integer(i))
                defer { pop() }
                items.append(try ValueError.at(.index(i)) { try value(at: top, depth: depth + 1, visiting: &visiting) })
            }
            return .array(items)
        }
        var entries: [Value: Value] = [:]
        entries.reserveCapacity(count)
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            do {
                let key = try self.key(at: top - 1)
                entries[key] = try ValueError.at(.key(key)) { try value(at: top, depth: depth + 1, visiting: &visiting) }
            } catch {
                pop(2)
                throw error
            }
            pop()
        }
        return .map(entries)
    }

    /// A table's key: a string of UTF-8 text, a number or a boolean.
    private func key(at index: Int32) throws -> Value {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            var length = 0
            let p = lua_tolstring(L, index, &length)!
            let bytes = Array(UnsafeRawBufferPointer(start: p, count: length))
            guard Value.isUTF8(bytes) else { throw ValueError.keyNotUTF8 }
            return .string(bytes)
        case LUA_TNUMBER, LUA_TBOOLEAN:
            var ignored = Set<UnsafeRawPointer>()
            return try value(at: index, depth: 0, visiting: &ignored)
        default:
            throw ValueError("has a \(typeName(at: index)) key, which cannot cross Lua states")
        }
    }
}
