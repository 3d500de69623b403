#if canImport(Glibc)
import Glibc
#endif

/// When blocking work must stop: at a deadline (a task's timeout), or as soon as one of its
/// flags is set (Ctrl-C's, a thread pool's cancellation). The Lua host makes one for each host
/// function that blocks (`LuaState.deadline`): `dk.time.sleep` waits on it, `Subprocess` stops
/// its child at it, `HTTPClient` ends its transfer at it.
public struct Deadline: @unchecked Sendable {  // the flags are only read; handlers and other threads set them
    public enum Stop: Sendable { case timedOut, interrupted }

    /// `Clock.monotonic()` seconds; nil: none.
    public let at: Double?
    private let flags: [UnsafeMutablePointer<sig_atomic_t>]

    public init(at: Double?, interruptedBy flags: [UnsafeMutablePointer<sig_atomic_t>] = []) {
        self.at = at
        self.flags = flags
    }

    /// Never stops.
    public static let none = Deadline(at: nil)

    /// Why the work must stop now, or nil.
    public var stop: Stop? {
        if interrupted { return .interrupted }
        if let at, Clock.monotonic() >= at { return .timedOut }
        return nil
    }

    private var interrupted: Bool { flags.contains { $0.pointee != 0 } }

    /// Seconds left (0 once passed); nil without a deadline.
    public var remaining: Double? { at.map { max(0, $0 - Clock.monotonic()) } }

    /// This deadline, or `seconds` from now if that comes first (nil: this deadline).
    public func within(_ seconds: Double?) -> Deadline {
        guard let seconds else { return self }
        let end = Clock.monotonic() + seconds
        return Deadline(at: min(at ?? end, end), interruptedBy: flags)
    }

    /// Asks `done` every `interval` seconds (never pausing past the deadline) until it says
    /// true, or this deadline stops the wait.
    /// - Returns: nil when done, else why the wait stopped.
    public func wait(every interval: Double, until done: () throws -> Bool) rethrows -> Stop? {
        let finished = try Poll.until(deadline: at, every: interval, stop: { interrupted }) {
            try done() ? true : nil
        }
        return finished == nil ? stop : nil
    }

    /// Sleeps `seconds`, or less when this deadline stops first (ask `stop` which it was).
    public func sleep(_ seconds: Double) { _ = within(seconds).wait(every: 0.05) { false } }
}
