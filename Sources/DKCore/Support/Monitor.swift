#if canImport(Glibc)
import Glibc
#endif

/// A mutex with condition variables on the monotonic clock: the one synchronisation
/// primitive the thread executor and the event sinks need. Condition 0 is the default; a
/// monitor with more lets different waiters (workers, a coordinator) be woken separately.
public final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    public init(conditions: Int = 1) {
        conditionCount = conditions
        self.conditions = .allocate(capacity: conditions)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        for i in 0 ..< conditions { pthread_cond_init(self.conditions + i, &attr) }
        pthread_condattr_destroy(&attr)
    }

    deinit {
        for i in 0 ..< conditionCount { pthread_cond_destroy(conditions + i) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    public func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal on a condition; call with the lock held (inside `locked`).
    /// Returns false on timeout.
    @discardableResult
    public func wait(_ condition: Int = 0, until deadline: Double? = nil) -> Bool {
        guard let deadline else {
            pthread_cond_wait(conditions + condition, mutex)
            return true
        }
        let seconds: Int = Numbers.clamped(deadline)
        var ts = timespec(tv_sec: seconds, tv_nsec: Numbers.clamped((deadline - Double(seconds)) * 1e9))
        return pthread_cond_timedwait(conditions + condition, mutex, &ts) == 0
    }

    /// Wakes one waiter of a condition.
    public func signal(_ condition: Int = 0) { pthread_cond_signal(conditions + condition) }

    /// Wakes every waiter of a condition.
    public func broadcast(_ condition: Int = 0) { pthread_cond_broadcast(conditions + condition) }
}

/// Starts a detached-from-Swift POSIX thread running `body`; join it with the returned id.
public func spawnThread(_ body: @escaping () -> Void) -> pthread_t {
    final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return thread
}
