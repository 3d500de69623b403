/// A flow run's id as a user gives it: whole, or its first characters, with or without its
/// dashes (the short form dkrun prints, `RunLabels.short`, has none). One decision for every
/// command that takes a run: `dkrun k8s logs|cleanup` (among the cluster's runs) and
/// `dkrun runs` (among the history's).
public enum RunIDPrefix {
    /// The one id among `ids` that starts with `given`; bad input naming `given` when none
    /// does, or several.
    /// - Parameters:
    ///   - place: where the ids are, for the message ("in namespace default").
    ///   - missing: what it means that none matches, for the message.
    public static func resolve(_ given: String, among ids: some Sequence<String>, place: String, missing: String = "") throws -> String {
        let wanted = undashed(given)
        let matches = Set(ids.filter { !wanted.isEmpty && undashed($0).hasPrefix(wanted) })
        guard matches.count == 1 else {
            throw CommandError.badInput(matches.isEmpty ? "no flow run '\(given)' \(place)\(missing)"
                                        : "'\(given)' names \(matches.count) flow runs \(place): give more of the id")
        }
        return matches.first!
    }

    /// The short form dkrun shows (and Kubernetes object names use): the first 10
    /// characters, without dashes.
    public static func short(_ id: String) -> String { String(undashed(id).prefix(10)) }

    private static func undashed(_ id: String) -> String { id.lowercased().filter { $0 != "-" } }
}
