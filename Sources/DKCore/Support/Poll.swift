#if canImport(Glibc)
import Glibc
#endif

/// Waiting for something another process does (a pod to start, to end, to go): asking again
/// and again, with a pause between, until it is so, a deadline passes, or the wait is stopped.
public enum Poll {
    /// Calls `probe` every `interval` seconds (the last pause ends at the deadline) until it
    /// answers (returns non-nil).
    /// - Parameters:
    ///   - deadline: `Clock.monotonic()` seconds after which the wait gives up; nil: none.
    ///   - stop: asked before each probe; true ends the wait (pass `{ Interruption.requested }`
    ///     to end it on Ctrl-C).
    /// - Returns: the answer, or nil at the deadline or when stopped.
    @discardableResult
    public static func until<Answer>(deadline: Double?, every interval: Double = 0.2, stop: () -> Bool = { false },
                                     _ probe: () throws -> Answer?) rethrows -> Answer? {
        while !stop() {
            if let answer = try probe() { return answer }
            if let deadline, Clock.monotonic() >= deadline { return nil }
            usleep(Numbers.clamped(min(interval, deadline.map { max(0, $0 - Clock.monotonic()) } ?? interval) * 1e6))
        }
        return nil
    }
}
