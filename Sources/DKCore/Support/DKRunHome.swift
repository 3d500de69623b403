/// dkrun's own directory: `$DKRUN_HOME`, else `~/.dkrun` (default result location and caches).
public enum DKRunHome {
    public static var path: String {
        if let home = Files.environment("DKRUN_HOME"), !home.isEmpty { return home }
        return Files.join(Files.environment("HOME") ?? "/tmp", ".dkrun")
    }
}
