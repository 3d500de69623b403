import DKCore
@testable import DKLua
import DKTestSupport
import Foundation

/// A temporary directory holding a flow script (flow.lua) and any other files, removed after.
final class ScriptDirectory {
    let path: String

    init(_ script: String, files: [String: String] = [:]) throws {
        // Short: Lua shortens chunk names longer than 60 characters in its messages.
        path = "/tmp/dkt-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try write("flow.lua", script)
        for (name, text) in files { try write(name, text) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var script: String { path + "/flow.lua" }

    func write(_ name: String, _ text: String) throws {
        let full = path + "/" + name
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    /// Evaluates the script and describes its (only) flow; modules are found in the directory
    /// (and in the standard library with `standardLibrary`).
    /// - Parameter describedAgain: false, as `dkrun FLOW.lua` selects it (`LuaHost.selectFlow`).
    func load(flow: String? = nil, standardLibrary: Bool = false, describedAgain: Bool = true) throws -> (LuaHost, FlowSpec) {
        let directories = [path] + (standardLibrary ? [ModuleSearchPath.standardLibrary].compactMap { $0 } : [])
        let host = try LuaHost(sources: .script(path: script, searchPath: ModuleSearchPath(directories: directories)))
        try host.evaluate()
        return (host, try host.selectFlow(named: flow, describedAgain: describedAgain))
    }

    /// The message of the error that loading the script raises, with the directory made relative.
    func loadError() -> String? {
        do {
            _ = try load()
            _ = try FlowGraph(try load().1)
            return nil
        } catch {
            return "\(error)".replacingOccurrences(of: path + "/", with: "")
        }
    }
}


/// Runs the script's flow, selected as `dkrun FLOW.lua` selects it, and returns the result and
/// the events.
func runFlow(_ script: String, parameters: [String: Value] = [:], executor: ExecutorChoice = .local,
             files: [String: String] = [:], standardLibrary: Bool = false) throws -> (FlowRunResult, EventRecorder) {
    let dir = try ScriptDirectory(script, files: files)
    let (host, spec) = try dir.load(standardLibrary: standardLibrary, describedAgain: false)
    let log = EventRecorder()
    let result = try host.execution(of: spec, parameters: parameters, executor: executor, observer: log).run()
    return (result, log)
}

/// A flow's edges as "up->down:key[index] mapped", in the order they were made.
func edges(_ spec: FlowSpec) -> [String] {
    spec.edges.map { "\($0.upstream)->\($0.downstream)\($0.key.map { ":" + $0 } ?? "")\($0.index.map { "[\($0)]" } ?? "")\($0.mapped ? " mapped" : "")" }
}
