#if canImport(Glibc)
import Glibc
#endif
import DKCore
@testable import DKLua

/// The worker's task server (`dkrun worker --stdio`) on a stream of request frames, replies
/// discarded: every request, `load` rebuilding the flow in Lua and `run` calling its tasks
/// when the payload's DAG hash holds. The seeds load a small flow and run, expand and collect
/// its tasks, so that mutations reach the decoding of requests and of upstream states.
enum WorkerFuzz {
    private static let replies = open("/dev/null", O_WRONLY)

    static func run(_ input: [UInt8]) {
        let server = TaskServer(channel: FrameChannel(input: ScratchFile.hold(input), output: replies))
        try? server.serve()
    }
}
