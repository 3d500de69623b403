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
            try host.lua.push(v)
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
            try host.lua.push(v)
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
        ("return {ok = {['a\\255'] = 1}}", "result.ok has a key that is not UTF-8 text"),
        // Tables nest at most Value.maxDepth (200) levels: the 201st is an error, not a crash.
        ("local t = {}; local c = t; for i = 1, 200 do c[1] = {}; c = c[1] end; return {x = t}",
         "result.x[1][1][1][1][1][1][1]...[1][1] is nested more than 200 levels deep (the limit)"),
        ("local t = {}; for i = 1, 100000 do t = {a = t} end; return t",
         "result.a.a.a.a.a.a.a.a...a.a is nested more than 200 levels deep (the limit)"),
    ])
    func unserialisableValuesAreErrorsNamingThePlace(source: String, message: String) throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let error = #expect(throws: (any Error).self) { try host.execute(source, chunkName: "=t") }
        #expect("\(error!)" == message)
    }

    /// Levels of nested tables that a Lua function counts (`depth(v)`).
    static let depth = "local function depth(v) local n = 0; while type(v) == 'table' do v = v[1]; n = n + 1 end; return n end; "

    static func nested(_ levels: Int) -> Value { (0 ..< levels - 1).reduce(Value.array([])) { v, _ in .array([v]) } }

    /// Values from dkrun's messages nest up to Value.maxMessageDepth; each level asks Lua for
    /// stack room (C code gets 20 slots), and deeper is an error that leaves nothing pushed.
    @Test func pushesAsDeepAsMessagesGoAndNoDeeper() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let top = host.lua.top
        try host.lua.load(Array("\(Self.depth) return depth(...)".utf8), chunkName: "=d")
        try host.lua.push(Self.nested(Value.maxMessageDepth))
        try host.lua.pcall(nargs: 1, nresults: 1)
        #expect(try host.lua.value(at: -1, path: "n") == .int(Int64(Value.maxMessageDepth)))
        host.lua.pop()
        #expect(host.lua.top == top)
        let error = #expect(throws: (any Error).self) { try host.lua.push(Self.nested(Value.maxMessageDepth + 1)) }
        #expect("\(error!)" == "value[1][1][1][1][1][1][1][1]...[1][1] is nested more than 216 levels deep (the limit)")
        #expect(host.lua.top == top)
    }

    @Test func tablesAtTheLimitCrossBothWays() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let v = try #require(host.execute("local t = {}; local c = t; for i = 2, 200 do c[1] = {}; c = c[1] end; return t", chunkName: "=t").first)
        #expect(v == Self.nested(Value.maxDepth))
    }

    /// Documents decoded in Lua: an error that names the function and the path, no crash;
    /// 200 levels (which overflowed Lua's stack before it was checked) arrive whole.
    @Test func deepDocumentsDecodedInLua() throws {
        let stdlib = try #require(ModuleSearchPath.standardLibrary)
        let host = try LuaHost(sources: .script(path: "t.lua", searchPath: ModuleSearchPath(directories: [stdlib])))
        func run(_ source: String) throws -> [Value] { try host.execute(Self.depth + source, chunkName: "=t") }
        #expect(try run("return depth(dk.json.decode(string.rep('[', 200) .. string.rep(']', 200)))") == [200])
        #expect(try run("return depth(dk.yaml.load(string.rep('[', 200) .. string.rep(']', 200)))") == [200])
        let json = #expect(throws: (any Error).self) { try run("local v = dk.json.decode(string.rep('[', 100000)); return v") }
        #expect("\(json!)" == "t:1: dk.json.decode: [1][1][1][1][1][1][1][1]...[1][1] is nested more than 200 levels deep (the limit) at byte 201")
        let yaml = #expect(throws: (any Error).self) { try run("local v = dk.yaml.load('a:\\n' .. string.rep('- ', 100000) .. 'x', 'deep.yaml'); return v") }
        #expect("\(yaml!)" == "t:1: dk.yaml.load: deep.yaml:2:399: a[1][1][1][1][1][1][1]...[1][1] is nested more than 200 levels deep (the limit)")
    }
}
