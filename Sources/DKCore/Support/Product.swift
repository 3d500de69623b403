/// dkrun itself: its version, and where the files that ship beside its binary are.
public enum Product {
    /// The one definition of dkrun's version (the CLI's --version, the REPL's banner, the
    /// worker protocol's hello, the default image's tag).
    public static let version = "0.1.0"

    /// The first of `relativePaths` that exists, looked for next to the running binary and
    /// in each directory above it (an installed `bin/dkrun` finds `share/...`; a build in
    /// `.build/debug` finds the checkout it was built in).
    /// - Parameter isWanted: whether a candidate path is the one wanted (it exists, it runs).
    public static func findBesideExecutable(_ relativePaths: [String], where isWanted: (String) -> Bool) -> String? {
        var dir = Files.directory(of: Files.executablePath)
        for _ in 0 ..< 5 {
            for relative in relativePaths where isWanted(dir + "/" + relative) {
                return dir + "/" + relative
            }
            dir = Files.directory(of: dir)
        }
        return nil
    }
}

extension Product {
    /// Where dkrun keeps what outlives a run (the run history, results with no location named,
    /// caches): $DKRUN_HOME, else ~/.dkrun.
    public static var home: String {
        if let home = Files.environment("DKRUN_HOME"), !home.isEmpty { return home }
        return (Files.environment("HOME") ?? Files.currentDirectory) + "/.dkrun"
    }
}
