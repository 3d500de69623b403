import ArgumentParser
import DKCore
import DKHistory

/// `dkrun resume RUN`: goes on with a paused run (docs/results.md, Resume). It runs the
/// script the history recorded, with the parameters it was given, as a resume of the run
/// (`dkrun SCRIPT --resume RUN`) that approves the tasks that were Paused (`--approve`): what
/// succeeded ends Cached, the approved tasks run, and so does what follows them.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Go on with a paused flow run: approve the tasks that wait, and run what is left."
    )

    @Argument(help: ArgumentHelp("The paused run: its id or its first characters.", valueName: "RUN"))
    var runID: String

    @OptionGroup var printing: OutputOptions

    func run() throws {
        let history = try RunHistory()
        let paused = try RunsCommand.find(runID, in: history)
        let id = RunIDPrefix.short(paused.id)
        guard paused.state == .paused else {
            throw CommandError.badInput("flow run \(id) is not paused (it is \(paused.state.rawValue)): `dkrun resume` goes on with a "
                + "paused run; `dkrun FLOW.lua --resume \(id)` runs a finished one again")
        }
        guard let script = paused.script else {
            throw CommandError.badInput("flow run \(id): the run history does not say which script it ran (an older dkrun recorded "
                + "it): run `dkrun FLOW.lua --resume \(id) --approve TASK`")
        }
        guard Files.isReadableFile(script) else {
            throw CommandError.badInput("flow run \(id): its script \(script) is gone (moved or removed): run "
                + "`dkrun FLOW.lua --resume \(id) --approve TASK` with the script where it is now")
        }
        let waiting = Set(try history.tasks(of: paused.id).filter { $0.state == .paused }.map(\.id.task))
        var arguments = [script, "--flow", paused.flow, "--resume=" + paused.id] + waiting.sorted().flatMap { ["--approve", $0] }
        // JSON is YAML: `--param` reads each value back as it was.
        for (name, value) in (paused.scriptParameters?.textKeyed ?? [:]).sorted(by: { $0.key < $1.key }) {
            let text = JSON.encode(value)
            guard !text.contains("****") else {
                throw CommandError.badInput("flow run \(id): parameter '\(name)' was given a secret, which the run history does not "
                    + "keep: run `dkrun \(script) --resume \(id) --param \(name)=... --approve TASK`")
            }
            arguments += ["--param", name + "=" + text]
        }
        let command = try RunCommand.parse(arguments + printing.arguments)
        try command.run()
    }
}
