import DKCore
import DKHistory
#if canImport(Glibc)
import Glibc
#endif

/// The earlier run `dkrun FLOW.lua --resume [RUN]` resumes (docs/results.md, Resume): the one
/// `RUN` names in the run history (an id or its first characters), else the flow's last run.
/// Which of its tasks run again is decided task by task from the results kept under their
/// identities (`TaskRules.storedOutcome`), not from the history.
enum ResumedRun {
    /// The id of the run to resume (`given`: an id, its first characters, or `last`); bad input (exit 2) when there is none, `given` names no
    /// run, several, or a run of another flow. Warns about the tasks it had that the flow no
    /// longer has (they are ignored).
    static func find(_ given: String, flow: FlowSpec) throws -> String {
        let history = try RunHistory()
        let run: RunRecord
        if given != last {
            run = try RunsCommand.find(given, in: history)
            guard run.flow == flow.name else {
                throw CommandError.badInput("flow run \(RunIDPrefix.short(run.id)) ('\(given)') is a run of flow '\(run.flow)', "
                    + "not of flow '\(flow.name)': --resume takes a run of the flow it runs")
            }
        } else {
            guard let last = try history.runs(flow: flow.name, limit: 1).first else {
                throw CommandError.badInput("--resume: no earlier run of flow '\(flow.name)' in the run history "
                    + "(\(history.databasePath)): run it once without --resume")
            }
            run = last
        }
        let slugs = Set(flow.tasks.map(\.slug))
        let gone = Set(try history.tasks(of: run.id).map(\.id.task)).subtracting(slugs).sorted()
        if !gone.isEmpty {
            fputs("dkrun: warning: flow '\(flow.name)' no longer has the task(s) \(gone.map { "'\($0)'" }.joined(separator: ", ")) "
                  + "of run \(RunIDPrefix.short(run.id)); ignored\n", stderr)
        }
        return run.id
    }

    /// What `--resume` takes for the flow's last run (never a run id, which is hexadecimal).
    static let last = "last"

    /// The command line with a bare `--resume` (no RUN after it) written `--resume=last`:
    /// ArgumentParser has no option whose value may be left out. What follows `--resume` is
    /// its RUN unless it is an option or a script.
    static func expandingBareOption(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            i += 1
            guard a == "--resume" else { out.append(a); continue }
            if i < arguments.count, !arguments[i].hasPrefix("-"), !arguments[i].hasSuffix(".lua") {
                out.append("--resume=" + arguments[i])
                i += 1
            } else {
                out.append("--resume=" + last)
            }
        }
        return out
    }
}
