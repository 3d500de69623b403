import ArgumentParser
import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs the command line, and exits with the category of what ended it (docs/cli.md):
/// dkrun's errors carry theirs (`CategorizedError`); ArgumentParser's usage errors, which
/// would exit 64, are bad input (2).
@main
enum Entry {
    static func main() {
        // A parent may have started dkrun with signals blocked or ignored (both are inherited),
        // which would make Ctrl-C, SIGTERM and a closing terminal's SIGHUP do nothing.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        for sig in [SIGHUP, SIGINT, SIGTERM, SIGQUIT] { signal(sig, SIG_DFL) }
        do {
            // `dkrun` alone on a terminal starts the REPL.
            let arguments = CommandLine.arguments.count == 1 && isatty(STDIN_FILENO) != 0 ? ["repl"]
                : ResumedRun.expandingBareOption(Array(CommandLine.arguments.dropFirst()))
            var command = try DKRun.parseCommand(arguments)
            try command.run()
        } catch let error as CategorizedError {
            // dkrun's own errors: the category is the exit code; an empty message was shown already.
            let message = error.description
            if !message.isEmpty { fputs("dkrun: error: \(SecretMask.apply(message))\n", stderr) }
            exit(error.exitStatus.rawValue)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            // ArgumentParser's: usage errors are bad input (its own code for them is 64).
            let code = DKRun.exitCode(for: error)
            let message = DKRun.fullMessage(for: error)
            if !message.isEmpty { fputs(message + "\n", code == .success ? stdout : stderr) }
            exit(code == .validationFailure ? ExitStatus.badInput.rawValue : code.rawValue)
        }
    }
}

/// Every command names itself (`commandName`): a name derived from the type costs the cold
/// start a search of all the binary's protocol conformances per command.
struct DKRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkrun",
        abstract: "Run Lua flow definitions locally, on Dask, and on Kubernetes.",
        discussion: "`dkrun FLOW.lua` runs the flow the script returns. Exit codes: 0 success, 1 flow failed, 2 bad input, 130 interrupted.",
        version: Product.version,
        subcommands: [RunCommand.self, InspectCommand.self, SerializeCommand.self, GraphCommand.self, BuildCommand.self, LibCommand.self, REPLCommand.self, WorkerCommand.self, K8sCommand.self, RunsCommand.self, ReportCommand.self, ResumeCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

extension DKRun {
    /// `dkrun FLOW.lua ...`: ArgumentParser parses the line with the run command as the root,
    /// and that parse is kept when it gives a run. Any other line, and any error, help or
    /// version request of that parse, is parsed from `DKRun`, whose help, usage and errors
    /// name `dkrun`. For such a line the root adds nothing (it has no options of its own, and
    /// its default command takes every argument) but 1.6 M instructions, a sixth of the parse:
    /// it reflects `DKRun` and the run command once more, and walks every subcommand
    /// (docs/performance.md, Cold start).
    static func parseCommand(_ arguments: [String]) throws -> ParsableCommand {
        if let first = arguments.first, !first.hasPrefix("-"), !isSubcommandName(first),
           let run = try? RunCommand.parseAsRoot(arguments) as? RunCommand {
            return run
        }
        return try parseAsRoot(arguments)
    }

    /// A name the root would take as a subcommand's: its subcommands' names and aliases, and `help`.
    private static func isSubcommandName(_ word: String) -> Bool {
        word == "help" || configuration.subcommands.contains {
            $0.configuration.commandName == word || $0.configuration.aliases.contains(word)
        }
    }
}
