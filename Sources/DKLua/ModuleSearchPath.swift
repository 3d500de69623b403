import DKCore

/// Where `require` looks for a module, in order: the flow's own directory, its vendor
/// folder, ./vendor, each entry of DKRUN_PATH (colon-separated), the `lib` folder of dkrun's
/// home (~/.dkrun/lib, or $DKRUN_HOME/lib), and dkrun's standard library. A
/// module `a.b` is `a/b.lua` or `a/b/init.lua` under one of them.
public struct ModuleSearchPath: Sendable, Equatable {
    public let directories: [String]
    /// Where relative directories start: the current directory when the path was made, so
    /// that a LocalRun's working_dir, in force while tasks run, does not move them.
    public let base: String

    public init(directories: [String], base: String = Files.currentDirectory) {
        self.directories = directories
        self.base = base
    }

    public static func forScript(at scriptPath: String) -> ModuleSearchPath {
        let flowDirectory = Files.directory(of: scriptPath)
        var dirs = [flowDirectory, Files.join(flowDirectory, "vendor"), "vendor"]
        if let extra = Files.environment("DKRUN_PATH") { dirs += extra.split(separator: ":").map(String.init) }
        dirs.append(Files.join(Product.home, "lib"))
        if let stdlib = standardLibrary { dirs.append(stdlib) }
        var seen = Set<String>()
        return ModuleSearchPath(directories: dirs.filter { seen.insert($0).inserted })
    }

    /// The standard library's directory: DKRUN_STDLIB, else `share/dkrun/stdlib` next to an
    /// installed binary, else the `stdlib` folder of the checkout the binary was built in.
    public static let standardLibrary: String? = {
        if let dir = Files.environment("DKRUN_STDLIB") { return dir }
        let marker = Product.findBesideExecutable(["share/dkrun/stdlib/dk/json.lua", "stdlib/dk/json.lua"],
                                                  where: Files.isReadableFile)
        return marker.map { Files.directory(of: Files.directory(of: $0)) }
    }()

    /// The candidate files for a module name, in search order.
    public func candidates(for name: String) -> [String] {
        let relative = name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/")
        return directories.flatMap { [Files.join($0, relative + ".lua"), Files.join($0, relative + "/init.lua")] }
    }

    /// The first readable candidate, or nil.
    public func find(_ name: String) -> String? {
        candidates(for: name).first { Files.isReadableFile(resolved($0)) }
    }

    /// A path as this search path names it (a candidate, the script's) from its base: as it
    /// is while the current directory is the base (messages name it so), else joined to it.
    func resolved(_ path: String) -> String {
        Files.currentDirectory == base ? path : Files.join(base, path)
    }
}
