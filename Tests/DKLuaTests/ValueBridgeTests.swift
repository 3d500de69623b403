import DKCore
@testable import DKLua
import DKTestSupport
import Testing

@Suite struct ValueBridgeTests {
    @Test func valuesRoundTripThroughLua() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        var gen = ValueGenerator(seed: 7)
        for _ in 0 ..< 1000 {
            let v = gen.value(luaSafe: true)
            host.lua.push(v)
            defer { host.lua.pop() }
            #expect(try host.lua.value(at: -1, path: "v") == v)
        }
    }

    @Test func luaTablesRoundTripThroughValues() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        // Lua builds random nested tables; each must equal itself after a trip through a Value.
        let results = try host.execute("""
            local function deep_equal(a, b)
              if type(a) ~= type(b) then return false end
              if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
              for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
              for k in pairs(b) do if a[k] == nil then return false end end
              return true
            end
            local seed = 12345
            local function rand(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
            local function gen(depth)
              local r = rand(depth > 2 and 5 or 7)
              if r == 0 then return rand(2) == 0 end
              if r == 1 then return rand(1000000) - 500000 end
              if r == 2 then return (rand(1000000) - 500000) / 7 end
              if r == 3 then return ("x"):rep(rand(20)) .. "\\0\\255" end
              if r == 4 then return math.mininteger end
              local t = {}
              for i = 1, rand(5) do
                if r == 5 then t[i] = gen(depth + 1) else t["k" .. rand(100)] = gen(depth + 1) end
              end
              return t
            end
            local values = {}
            for i = 1, 300 do values[i] = gen(0) end
            return values
            """, chunkName: "=gen")
        let values = try #require(results.first?.arrayValue)
        #expect(values.count == 300)
        for v in values {
            host.lua.push(v)
            defer { host.lua.pop() }
            #expect(try host.lua.value(at: -1, path: "v") == v)
        }
    }

    @Test(arguments: [
        ("return function() end", "result is a function, which cannot cross Lua states"),
        ("return {a = {b = {coroutine.create(print)}}}", "result.a.b[1] is a thread, which cannot cross Lua states"),
        ("return {io.stdout}", "result[1] is a userdata, which cannot cross Lua states"),
        ("local t = {}; t.self = t; return t", "result.self is part of a cycle (a table that contains itself)"),
        ("return {[{}] = 1}", "result has a table key, which cannot cross Lua states"),
    ])
    func unserialisableValuesAreErrorsNamingThePlace(source: String, message: String) throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let error = #expect(throws: (any Error).self) { try host.execute(source, chunkName: "=t") }
        #expect("\(error!)" == message)
    }
}
