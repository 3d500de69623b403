import DKCore

/// Where `require` looks for a module, in order: the flow's own directory, ./vendor, each
/// entry of DKRUN_PATH (colon-separated), ~/.dkrun/lib. A module `a.b` is `a/b.lua` or
/// `a/b/init.lua` under one of them.
public struct ModuleSearchPath: Sendable, Equatable {
    public let directories: [String]

    public init(directories: [String]) { self.directories = directories }

    public static func forScript(at scriptPath: String) -> ModuleSearchPath {
        var dirs = [Files.directory(of: scriptPath), "vendor"]
        if let extra = Files.environment("DKRUN_PATH") { dirs += extra.split(separator: ":").map(String.init) }
        if let home = Files.environment("HOME") { dirs.append(home + "/.dkrun/lib") }
        var seen = Set<String>()
        return ModuleSearchPath(directories: dirs.filter { seen.insert($0).inserted })
    }

    /// The candidate files for a module name, in search order.
    public func candidates(for name: String) -> [String] {
        let relative = name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/")
        return directories.flatMap { [Files.join($0, relative + ".lua"), Files.join($0, relative + "/init.lua")] }
    }

    /// The first readable candidate, or nil.
    public func find(_ name: String) -> String? {
        candidates(for: name).first(where: Files.isReadableFile)
    }
}
