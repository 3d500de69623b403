internal import CLua
import DKCore

/// A Lua value that cannot become a `Value`, with where in the value it was.
struct ValueBridgeError: CategorizedError {
    let path: String
    let problem: String
    var description: String { "\(path) \(problem)" }
    /// A value the script made that cannot cross Lua states.
    var exitStatus: ExitStatus { .badInput }
}

/// Where a conversion is inside a value: built into a string only for an error message.
private indirect enum ValuePath {
    case root(String)
    case index(ValuePath, Int)
    case key(ValuePath, Value)

    var text: String {
        switch self {
        case .root(let name): return name
        case .index(let parent, let i): return "\(parent.text)[\(i)]"
        case .key(let parent, let k): return k.stringValue.map { "\(parent.text).\($0)" } ?? "\(parent.text)[\(JSON.encode(k))]"
        }
    }
}

extension LuaState {
    /// Pushes a value: nil, booleans, integers, floats and strings as themselves, arrays as
    /// sequences from 1, maps as tables, a secret text as the string it stands for (its
    /// `<secret NAME>` text where a secret is missing: task arguments are resolved before,
    /// and fail the task then).
    func push(_ value: Value) {
        switch value {
        case .null: lua_pushnil(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .int(let i): lua_pushinteger(L, lua_Integer(i))
        case .float(let d): lua_pushnumber(L, d)
        case .secret(let s):
            push(.string((try? s.resolved(SecretStore.lookup)) ?? Array(s.description.utf8)))
        case .string(let s):
            s.withUnsafeBufferPointer { buf in
                buf.baseAddress.map { p in p.withMemoryRebound(to: CChar.self, capacity: buf.count) { _ = lua_pushlstring(L, $0, buf.count) } }
                    ?? { _ = lua_pushlstring(L, "", 0) }()
            }
        case .array(let a):
            lua_createtable(L, Int32(clamping: a.count), 0)
            for (i, element) in a.enumerated() {
                push(element)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        case .map(let m):
            lua_createtable(L, 0, Int32(clamping: m.count))
            for (k, v) in m where !k.isNull {
                if case .float(let d) = k, d.isNaN { continue }  // Lua tables cannot hold a NaN key
                push(k)
                push(v)
                lua_rawset(L, -3)
            }
        }
    }

    /// The value at `index`. A table whose keys are exactly 1...n is an array; other tables
    /// (and the empty table, which is written as an empty array) are maps. Functions,
    /// userdata, threads and cyclic tables are errors naming their place under `path`.
    func value(at index: Int32, path: String) throws -> Value {
        var visiting = Set<UnsafeRawPointer>()
        return try value(at: lua_absindex(L, index), path: .root(path), visiting: &visiting)
    }

    private func value(at index: Int32, path: ValuePath, visiting: inout Set<UnsafeRawPointer>) throws -> Value {
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
                throw ValueBridgeError(path: path.text, problem: "is part of a cycle (a table that contains itself)")
            }
            defer { visiting.remove(identity) }
            return try table(at: index, path: path, visiting: &visiting)
        default:
            throw ValueBridgeError(path: path.text, problem: "is a \(typeName(at: index)), which cannot cross Lua states")
        }
    }

    private func table(at index: Int32, path: ValuePath, visiting: inout Set<UnsafeRawPointer>) throws -> Value {
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
                items.append(try value(at: top, path: .index(path, i), visiting: &visiting))
            }
            return .array(items)
        }
        var entries: [Value: Value] = [:]
        entries.reserveCapacity(count)
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let key = try self.key(at: top - 1, path: path)
            do {
                entries[key] = try value(at: top, path: .key(path, key), visiting: &visiting)
            } catch {
                pop(2)
                throw error
            }
            pop()
        }
        return .map(entries)
    }

    private func key(at index: Int32, path: ValuePath) throws -> Value {
        switch lua_type(L, index) {
        case LUA_TSTRING, LUA_TNUMBER, LUA_TBOOLEAN:
            var ignored = Set<UnsafeRawPointer>()
            return try value(at: index, path: path, visiting: &ignored)
        default:
            let name = typeName(at: index)
            pop(2)
            throw ValueBridgeError(path: path.text, problem: "has a \(name) key, which cannot cross Lua states")
        }
    }
}
