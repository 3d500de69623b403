import PackagePlugin

/// Compiles the prelude (DKLua's Prelude/*.lua) to Lua bytecode at build time, into a Swift
/// file DKLua embeds (Prelude.bytecode): every Lua state loads the prelude, and loading its
/// bytecode costs a tenth of compiling its 1,800 lines.
@main struct PreludeBytecode: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let chunks = target.sourceFiles.map(\.url).filter { $0.pathExtension == "lua" }
        let output = context.pluginWorkDirectoryURL.appending(path: "PreludeBytecode.swift")
        return [.buildCommand(displayName: "Compiling the prelude to Lua bytecode",
                              executable: try context.tool(named: "PreludeCompiler").url,
                              arguments: [output.path] + chunks.map(\.path),
                              inputFiles: chunks, outputFiles: [output])]
    }
}
