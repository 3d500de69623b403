import DKCore
import DKHistory
#if canImport(Glibc)
import Glibc
#endif

/// Every run `dkrun FLOW.lua` starts, and every Kubernetes run `dkrun k8s logs` follows, goes
/// into the run history: its events reach the reporter and a `RunRecorder`.
enum HistoryRecording {
    /// Runs `body` with an observer that reports to `output` and records the run.
    /// - Parameters:
    ///   - ends: whether the run has ended when `body` returns (false: a Kubernetes run looked
    ///     at while it may go on, or submitted and left to run); when it throws, it has.
    ///   - body: runs or follows the run; how it ended.
    static func run(_ run: RunRecorder.Run, output: RunObserver, ends: Bool = true,
                    _ body: (RunObserver) throws -> ExitStatus) throws -> ExitStatus {
        let recorder = RunRecorder(run: run) { warning in
            fputs("dkrun: warning: \(SecretMask.apply(warning))\n", stderr)
        }
        let status: ExitStatus
        do {
            status = try body(RunObservers([output, recorder]))
        } catch {
            recorder.finish(status: (error as? CategorizedError)?.exitStatus ?? .failure, reason: "\(error)")
            throw error
        }
        recorder.finish(status: ends ? status : nil)
        return status
    }
}
