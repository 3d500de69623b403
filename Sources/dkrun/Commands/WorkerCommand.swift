import ArgumentParser
import DKCore
import DKLua
#if canImport(Glibc)
import Glibc
#endif

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run tasks for a caller over length-prefixed messages (docs/worker-protocol.md)."
    )

    @Flag(help: "Speak the protocol on stdin and stdout.")
    var stdio = false

    func validate() throws {
        guard stdio else { throw ValidationError("only --stdio is supported") }
    }

    func run() throws {
        // Frames go to a private copy of stdout; stdout itself becomes stderr, so a task that
        // writes to it (io.write) cannot corrupt the protocol.
        let frames = dup(STDOUT_FILENO)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        Interruption.install()
        do {
            try TaskServer(channel: FrameChannel(input: STDIN_FILENO, output: frames)).serve()
        } catch {
            throw CLIFailure.failure("worker: \(error)")
        }
    }
}
