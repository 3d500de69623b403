#if canImport(Glibc)
import Glibc
#endif
internal import CLua
import DKCore
import DKHTTP

/// The Swift functions the prelude receives as `host`. Each runs inside a Lua call: it must
/// not throw through Lua, so errors are pushed as messages and returned as -1, which the
/// C trampoline raises (see CLua's shim.h).
enum HostFunctions {
    static let table: [(String, dk_swift_function)] = [
        ("log", log),
        ("yaml_load_file", yamlLoadFile),
        ("find_module", findModule),
        ("run_flow", runFlow),
        ("where", callerPosition),
        ("print", printLine),
        ("task_context", taskContext),
        ("write", writeOutput),
        ("json_encode", jsonEncode),
        ("json_decode", jsonDecode),
        ("yaml_load", yamlLoad),
        ("yaml_dump", yamlDump),
        ("list_directory", listDirectory),
        ("file_kind", fileKind),
        ("sleep", sleep),
        ("now", now),
        ("run", runCommand),
        ("environ", environ),
        ("secret", secret),
        ("http", httpRequest),
        ("dask_cluster_class_problem", daskClusterClassProblem),
        ("exit", osExit),
        ("execute", osExecute),
        ("popen", ioPopen),
    ]

    static func host(_ L: OpaquePointer?) -> LuaHost { LuaState.host(of: L, as: LuaHost.self) }

    /// Pushes the value `body` makes and returns 1, or raises its error's description in Lua.
    private static func returning(_ L: OpaquePointer?, _ body: () throws -> Value) -> Int32 {
        do {
            try host(L).lua.push(try body())
            return 1
        } catch {
            return fail(L, "\(error)")
        }
    }

    /// Like `returning`, for work that blocks: `body` gets the deadline of the call in progress
    /// (the running task's timeout, Ctrl-C) and stops at it. Stopped (or past the deadline
    /// before it starts or when it ends), the call raises and the state records why, as when
    /// the hook stops Lua code: the task ends TimedOut (or interrupted) whatever was cut short.
    private static func blocking(_ L: OpaquePointer?, _ body: (Deadline) throws -> Value) -> Int32 {
        blocking(L, body) { value in
            try host(L).lua.push(value)
            return 1
        }
    }

    /// `blocking` whose results `push` pushes (it returns how many).
    static func blocking<T>(_ L: OpaquePointer?, _ body: (Deadline) throws -> T, push: (T) throws -> Int32) -> Int32 {
        let lua = host(L).lua
        let deadline = lua.deadline
        let outcome = deadline.stop == nil ? Result { try body(deadline) } : nil
        if let stop = deadline.stop {
            lua.record(stop)
            return fail(L, stop == .timedOut ? "timed out" : "interrupted")
        }
        do {
            return try push(try outcome!.get())
        } catch {
            return fail(L, "\(error)")
        }
    }

    static func fail(_ L: OpaquePointer?, _ message: String) -> Int32 {
        lua_pushlstring(L, message, message.utf8.count)
        return -1
    }

    static func string(_ L: OpaquePointer?, _ index: Int32) -> String? { host(L).lua.string(at: index) }

    /// log(level, message): a log line of the running task (or of the script, outside tasks).
    private static let log: dk_swift_function = { L in
        logLine(L, string(L, 1).flatMap(LogLevel.init(name:)) ?? .info, string(L, 2) ?? "")
        return 0
    }

    private static func logLine(_ L: OpaquePointer?, _ level: LogLevel, _ message: String) {
        let h = host(L)
        if let sink = h.currentLog {
            sink(level, message)
        } else if let observer = h.runObserver {
            observer.handle(.log(nil, level, message, time: Clock.wall()))
        } else {
            fputs(SecretMask.apply("\(level.name) \(message)") + "\n", stderr)
        }
    }

    /// task_context(): the running task's `dk.context` table, made at its first read (nil
    /// outside a task).
    private static let taskContext: dk_swift_function = { L in
        guard let push = host(L).currentContext else {
            lua_pushnil(L)
            return 1
        }
        do {
            try push()
            return 1
        } catch {
            return fail(L, "\(error)")
        }
    }

    /// print(text): a line of stdout (see LuaHost.print).
    private static let printLine: dk_swift_function = { L in
        host(L).print(string(L, 1) ?? "")
        return 0
    }

    /// write(stream, text): what a script writes to "stdout" or "stderr" (io.write,
    /// io.stderr:write), cut into lines that go where print's go (see LuaHost.write).
    private static let writeOutput: dk_swift_function = { L in
        host(L).write(bytes(L, 2) ?? [], to: string(L, 1).flatMap(ScriptStream.init(rawValue:)) ?? .stdout)
        return 0
    }

    /// json_encode(value): JSON text, keys in sorted order.
    private static let jsonEncode: dk_swift_function = { L in
        returning(L) { .text(JSON.encode(try host(L).lua.value(at: 1, path: "value"))) }
    }

    /// json_decode(text): the value, or an error naming the byte where the text goes wrong.
    private static let jsonDecode: dk_swift_function = { L in
        guard let text = bytes(L, 1) else { return fail(L, "string expected") }
        return returning(L) { try JSON.decode(text) }
    }

    /// yaml_load(text, name, all): one document (or, with all, a list of every document).
    private static let yamlLoad: dk_swift_function = { L in
        guard let text = string(L, 1) else { return fail(L, "string expected") }
        let name = string(L, 2) ?? "yaml"
        let all = lua_toboolean(L, 3) != 0
        return returning(L) { all ? .array(try YAML.loadAll(text, source: name)) : try YAML.load(text, source: name) }
    }

    /// yaml_dump(value, all): YAML text (with all, the value is a list of documents).
    private static let yamlDump: dk_swift_function = { L in
        let all = lua_toboolean(L, 2) != 0
        return returning(L) {
            let value = try host(L).lua.value(at: 1, path: "value")
            return .text(all ? try YAML.dumpAll(value.arrayValue ?? []) : try YAML.dump(value))
        }
    }

    /// list_directory(path): the sorted names in a directory.
    private static let listDirectory: dk_swift_function = { L in
        guard let path = string(L, 1) else { return fail(L, "path expected") }
        return returning(L) { .array(try Files.list(path).map(Value.text)) }
    }

    /// file_kind(path): "file", "directory", "other", or nil.
    private static let fileKind: dk_swift_function = { L in
        guard let path = string(L, 1) else { return fail(L, "path expected") }
        if let kind = Files.kind(path) { host(L).lua.push(kind) } else { lua_pushnil(L) }
        return 1
    }

    /// dask_cluster_class_problem(name): why DaskExecutor's cluster_class cannot be `name`, or nil.
    private static let daskClusterClassProblem: dk_swift_function = { L in
        guard let name = string(L, 1) else { return fail(L, "class name expected") }
        if let problem = DaskClusterClass.problem(with: name) { host(L).lua.push(problem) } else { lua_pushnil(L) }
        return 1
    }

    /// sleep(seconds): waits, waking early at the task's deadline or for Ctrl-C.
    private static let sleep: dk_swift_function = { L in
        let seconds = max(0, lua_tonumberx(L, 1, nil))
        return blocking(L) { deadline in
            deadline.sleep(seconds)
            return .null
        }
    }

    /// now(): seconds since the Unix epoch, with a fraction.
    private static let now: dk_swift_function = { L in
        lua_pushnumber(L, Clock.wall())
        return 1
    }

    /// environ(): this process's environment as a table.
    private static let environ: dk_swift_function = { L in
        returning(L) {
            var vars: [Value: Value] = [:]
            for entry in Files.environmentEntries {
                guard let eq = entry.firstIndex(of: "=") else { continue }
                vars[.text(String(entry[..<eq]))] = .text(String(entry[entry.index(after: eq)...]))
            }
            return .map(vars)
        }
    }

    /// run(argv, input, environment, directory, timeout): {code, stdout, stderr, timed_out}.
    private static let runCommand: dk_swift_function = { L in
        let h = host(L)
        guard let argv = (try? h.lua.value(at: 1, path: "argv"))?.arrayValue?.compactMap(\.stringValue), !argv.isEmpty else {
            return fail(L, "argv must be a non-empty list of strings")
        }
        let input = bytes(L, 2) ?? []
        let directory = string(L, 4)
        let timeout = lua_type(L, 5) == LUA_TNUMBER ? lua_tonumberx(L, 5, nil) : nil
        return blocking(L) { deadline in
            let environment = try h.lua.value(at: 3, path: "env").arrayValue?.compactMap(\.stringValue)
            let r = try Subprocess.run(argv, input: input, environment: environment, directory: directory,
                                       timeout: timeout, deadline: deadline)
            return ["code": .int(Int64(r.status)), "stdout": .string(r.stdout), "stderr": .string(r.stderr),
                    "timed_out": .bool(r.timedOut)]
        }
    }

    /// secret(name): the secret's value, masked in dkrun's output from now on and a reference
    /// in the flow's description. One too short to mask gets a warning.
    private static let secret: dk_swift_function = { L in
        guard let name = string(L, 1) else { return fail(L, "secret name expected") }
        return returning(L) {
            let value = try SecretStore.lookup(name)
            if !host(L).secretsRead.insert(name: name, value: value) {
                logLine(L, .warning, "dk.secrets.get: secret '\(name)' is shorter than \(SecretMask.minimumLength) characters: "
                    + "dkrun cannot mask it in its output or keep it out of the flow's payload")
            }
            return .text(value)
        }
    }

    /// http(request): {status, headers, body} for a request table checked by dk.http.
    private static let httpRequest: dk_swift_function = { L in
        blocking(L) { deadline in
            let r = try host(L).lua.value(at: 1, path: "request")
            guard let url = r["url"]?.stringValue else { throw HostError(description: "url expected") }
            var request = HTTPRequest(url: url)
            request.method = r["method"]?.stringValue ?? "GET"
            request.headers = (r["headers"]?.sortedEntries ?? []).compactMap { k, v in
                guard let name = k.stringValue, let value = v.stringValue ?? v.intValue.map(String.init) else { return nil }
                return (name, value)
            }
            if case .string(let body)? = r["body"] { request.body = body }
            request.timeout = try Numbers.seconds(r["timeout"] ?? 30, "timeout")
            request.retries = try Numbers.integer(r["retries"] ?? 0, "retries", in: 0 ... 100)
            request.caFile = r["ca_file"]?.stringValue
            request.insecure = r["insecure"]?.boolValue ?? false
            request.followRedirects = r["redirects"]?.boolValue ?? true
            request.deadline = deadline
            let response = try HTTPClient.perform(request)
            return [
                "status": .int(Int64(response.status)), "body": .string(response.body),
                "headers": Value(texts: response.headers),
            ]
        }
    }

    private struct HostError: Error, CustomStringConvertible { let description: String }

    private static func bytes(_ L: OpaquePointer?, _ index: Int32) -> [UInt8]? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        let p = lua_tolstring(L, index, &length)!
        return Array(UnsafeRawBufferPointer(start: p, count: length))
    }

    /// where(): "file:line" of the innermost Lua function that is neither the prelude nor C.
    private static let callerPosition: dk_swift_function = { L in
        let caller = dk_lua_caller(L)
        var ar = lua_Debug()
        var level: Int32 = 1
        while lua_getstack(caller, level, &ar) != 0 {
            lua_getinfo(caller, "Sl", &ar)
            if !Prelude.isChunk(source: ar.source) && strcmp(ar.what, "C") != 0 {
                let file = withUnsafeBytes(of: &ar.short_src) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                host(L).lua.push(SourcePosition(file: file, line: Int(ar.currentline)).description)
                return 1
            }
            level += 1
        }
        lua_pushstring(L, "?")
        return 1
    }

    /// yaml_load_file(path): the YAML document in a file next to the flow, as a table.
    private static let yamlLoadFile: dk_swift_function = { L in
        guard let path = string(L, 1) else { return fail(L, "file path expected") }
        return returning(L) { try YAML.load(String(decoding: try host(L).sources.readFile(path), as: UTF8.self), source: path) }
    }

    /// find_module(name): the module's source and chunk name, or nil and the places searched.
    private static let findModule: dk_swift_function = { L in
        guard let name = string(L, 1) else { return fail(L, "module name expected") }
        switch host(L).sources.findModule(name) {
        case .success(let file):
            host(L).lua.push(bytes: file.text)
            host(L).lua.push(file.chunkName)
        case .failure(let notFound):
            lua_pushnil(L)
            host(L).lua.push(notFound.searched)
        }
        return 2
    }

    /// run_flow(flow, options): runs the flow here and returns its state as a table.
    private static let runFlow: dk_swift_function = { L in
        let h = host(L)
        return returning(L) { try h.runFromLua(flowIndex: 1, options: try h.lua.value(at: 2, path: "options")) }
    }
}
