#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C and SIGTERM. The first only sets a flag: the runner stops starting tasks, the Lua hook
/// stops running ones, and every wait for a child stops it (`Deadline`). A second signal kills
/// the process groups of the children still running and exits at once with 130.
public enum Interruption {
    /// The flag the signal handler sets; Lua states read it through their hook.
    public static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.pointee = 0
        return p
    }()

    public static var requested: Bool { flag.pointee != 0 }

    /// Installs the handlers for SIGINT and SIGTERM.
    public static func install() {
        // Made now: the handler must not be the first to touch them (lazy statics take a lock).
        _ = flag
        _ = ChildGroups.slots
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                if Interruption.flag.pointee != 0 {
                    ChildGroups.killAll()
                    _exit(130)
                }
                Interruption.flag.pointee = 1
            }
        }
    }

    /// The REPL's handling: Ctrl-C only sets the flag (it never exits), and interrupts a
    /// blocking read (no SA_RESTART), so a line being typed is abandoned.
    public static func installForREPL() {
        _ = flag
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interruption.flag.pointee = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    /// Clears the flag, so that a REPL or a test can run another flow.
    public static func reset() { flag.pointee = 0 }
}

/// A flag that stops the Lua code of one owner (a thread pool shutting down, say) the way
/// Ctrl-C stops everything: the states it is given to check it in their hook.
public final class CancellationFlag: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<sig_atomic_t>

    public init() {
        pointer = .allocate(capacity: 1)
        pointer.pointee = 0
    }

    deinit { pointer.deallocate() }

    public func set() { pointer.pointee = 1 }
}
