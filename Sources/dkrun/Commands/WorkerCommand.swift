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
        // A task server serves one parent (a Dask worker thread): when that goes, so does it,
        // even in the middle of a task that never reads its input again. SIGTERM, as a cancel
        // sends: the task stops with what it started (a second one ends everything at once).
        _ = setParentDeathSignal(1 /* PR_SET_PDEATHSIG */, UInt(SIGTERM))
        Interruption.install()
        do {
            try TaskServer(channel: FrameChannel(input: STDIN_FILENO, output: frames)).serve()
        } catch {
            throw CommandError.failure("worker: \(error)")
        }
        // The run's own dkrun reports the interruption; this one ends quietly.
        if Interruption.requested { throw CommandError(.interrupted, "") }
    }
}

/// prctl(2) with one argument. Glibc declares prctl variadic, which Swift cannot call; on the
/// Linux ABIs the integer arguments travel in the same registers either way.
@_silgen_name("prctl")
private func setParentDeathSignal(_ option: Int32, _ signal: UInt) -> Int32
