#if canImport(Glibc)
import Glibc
#endif
import DKCore
@testable import DKLua

/// The worker's task server (`dkrun worker --stdio`) on a stream of request frames, replies
/// discarded: every request, `load` rebuilding the flow in Lua and `run` calling its tasks
/// when the payload's DAG hash holds. The seeds load a small flow and run, expand and collect
/// its tasks, so that mutations reach the decoding of requests and of upstream states.
///
/// One server serves 100 inputs in a row, as a long-lived worker serves request after request:
/// a flow it loaded stays cached (by the payload's hash), which spares rebuilding the same
/// flow for every input. An input that names a flow without loading it may so depend on an
/// earlier input; the seeds always load theirs.
enum WorkerFuzz {
    private static let replies = open("/dev/null", O_WRONLY)
    private static var server: TaskServer?
    private static var served = 0

    static func run(_ input: [UInt8]) {
        if served % 100 == 0 {
            server = TaskServer(channel: FrameChannel(input: ScratchFile.descriptor, output: replies))
        }
        served += 1
        _ = ScratchFile.hold(input)
        try? server?.serve()
    }
}
