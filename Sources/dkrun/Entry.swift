import ArgumentParser
import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs the command line. ArgumentParser's usage errors exit 64; dkrun's contract says bad
/// input exits 2, so the entry point maps them.
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
            let arguments = CommandLine.arguments.count == 1 && isatty(STDIN_FILENO) != 0 ? ["repl"] : nil
            var command = try DKRun.parseAsRoot(arguments)
            try command.run()
        } catch let failure as CLIFailure {
            if !failure.message.isEmpty { fputs("dkrun: error: \(SecretMask.apply(failure.message))\n", stderr) }
            exit(failure.code)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let code = DKRun.exitCode(for: error)
            let message = DKRun.fullMessage(for: error)
            if !message.isEmpty { fputs(message + "\n", code == .success ? stdout : stderr) }
            exit(code == .validationFailure ? CLIFailure.badInputCode : code.rawValue)
        }
    }
}

/// An error the command line reports and exits with: bad input (2) or a failure (1).
struct CLIFailure: Error {
    static let badInputCode: Int32 = 2
    let message: String
    let code: Int32

    static func badInput(_ message: String) -> CLIFailure { CLIFailure(message: message, code: badInputCode) }
    static func failure(_ message: String) -> CLIFailure { CLIFailure(message: message, code: 1) }
}

struct DKRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkrun",
        abstract: "Run Lua flow definitions locally, on Dask, and on Kubernetes.",
        discussion: "`dkrun FLOW.lua` runs the flow the script returns. Exit codes: 0 success, 1 flow failed, 2 bad input, 130 interrupted.",
        version: "0.1.0",
        subcommands: [RunCommand.self, InspectCommand.self, SerializeCommand.self, GraphCommand.self, BuildCommand.self, LibCommand.self, REPLCommand.self, WorkerCommand.self, K8sCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
