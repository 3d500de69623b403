#if canImport(Glibc)
import Glibc
#endif

/// A unit of work for an executor: it runs a task attempt with the invoker it is given.
public typealias TaskJob = (TaskInvoker) -> TaskOutcome

/// A finished job: its id, how it ended, and how long it ran (not counting time queued).
public struct JobResult: Sendable {
    public let id: Int
    public let outcome: TaskOutcome
    public let duration: Double

    static func timing(_ id: Int, _ job: TaskJob, _ invoker: TaskInvoker) -> JobResult {
        let start = Clock.monotonic()
        let outcome = job(invoker)
        return JobResult(id: id, outcome: outcome, duration: Clock.monotonic() - start)
    }
}

/// Where task attempts run (Prefect 1's executor: submit, then wait for results).
public protocol Executor: AnyObject {
    /// A short description for the run's header ("local", "threads(4)").
    var name: String { get }
    /// Whether a mapped task over a mapped task runs child by child, each child when the
    /// upstream child it maps over has ended (Prefect 1 on Dask), rather than when all of
    /// them have (Prefect 1's LocalExecutor, which runs each job as it is submitted).
    var mapsDepthFirst: Bool { get }
    /// Queues a job; `id` comes back with its outcome. Queued jobs start highest `priority`
    /// first (the task's), then by `place`.
    func submit(id: Int, priority: Int, place: QueuePlace, _ job: @escaping TaskJob)
    /// Waits for finished jobs and returns them all, or nothing at the deadline (monotonic
    /// seconds) or on Ctrl-C.
    func next(until deadline: Double?) -> [JobResult]
    /// Stops the executor's threads; queued jobs are dropped.
    func shutdown()
}

/// Where a queued job stands among those of its priority: by `sequence`, then `depth`. The
/// flow runner numbers its submissions; a child of a mapped task that maps over a mapped task
/// child by child takes the sequence of the upstream child it follows, one level deeper, so
/// it runs before that task's later children (depth-first).
public struct QueuePlace: Comparable, Sendable {
    public var sequence: Int
    public var depth: Int

    public init(sequence: Int, depth: Int = 0) {
        self.sequence = sequence
        self.depth = depth
    }

    public static func < (a: QueuePlace, b: QueuePlace) -> Bool {
        (a.sequence, a.depth) < (b.sequence, b.depth)
    }
}

/// Queued jobs, highest priority first, then by place (a binary heap).
struct JobQueue {
    private struct Entry {
        let priority: Int
        let place: QueuePlace
        let id: Int
        let job: TaskJob
        func precedes(_ other: Entry) -> Bool {
            priority != other.priority ? priority > other.priority : place < other.place
        }
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(id: Int, priority: Int, place: QueuePlace, _ job: @escaping TaskJob) {
        heap.append(Entry(priority: priority, place: place, id: id, job: job))
        var i = heap.count - 1
        while i > 0, heap[i].precedes(heap[(i - 1) / 2]) {
            heap.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    mutating func pop() -> (Int, TaskJob)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            var first = i
            for child in [2 * i + 1, 2 * i + 2] where child < heap.count && heap[child].precedes(heap[first]) { first = child }
            if first == i { break }
            heap.swapAt(i, first)
            i = first
        }
        return (top.id, top.job)
    }

    mutating func removeAll() { heap.removeAll() }
}

/// Runs every job in the calling thread, one at a time, highest priority first.
public final class LocalExecutor: Executor {
    private let invoker: TaskInvoker
    private var queue = JobQueue()

    public init(invoker: TaskInvoker) { self.invoker = invoker }

    public var name: String { "local" }

    public var mapsDepthFirst: Bool { false }

    public func submit(id: Int, priority: Int, place: QueuePlace, _ job: @escaping TaskJob) {
        queue.push(id: id, priority: priority, place: place, job)
    }

    public func next(until deadline: Double?) -> [JobResult] {
        guard let (id, job) = queue.pop() else {
            // Nothing to run: wait out the deadline (a pending retry), waking for Ctrl-C.
            while let deadline, Clock.monotonic() < deadline, !Interruption.requested { usleep(2000) }
            return []
        }
        return [JobResult.timing(id, job, invoker)]
    }

    public func shutdown() { queue.removeAll() }
}

/// Runs jobs on a pool of threads, each with its own invoker (its own Lua state: Lua states
/// are not thread-safe), made on that thread by `makeInvoker(threadIndex)`.
///
/// The calling (coordinating) thread is one of the workers: while it waits in `next` it runs
/// queued jobs itself with `callerInvoker`, so a chain of tasks never waits for a thread to
/// wake up, and a pool of N threads needs only N - 1 more invokers. Those threads start when
/// there is first work for them, and their invokers (whose making can be slow: a thread
/// rebuilds the flow) are cancelled at shutdown. Jobs submitted between two `next` calls are
/// handed over under one lock, and `next` takes every finished job. Queued jobs are taken
/// highest priority first.
public final class ThreadExecutor: Executor, @unchecked Sendable {
    private static let jobsReady = 0, jobsDone = 1
    private let monitor = Monitor(conditions: 2)
    /// Submitted but not yet handed over (touched by the coordinating thread only).
    private var outbox: [(id: Int, priority: Int, place: QueuePlace, job: TaskJob)] = []
    private var jobs = JobQueue()
    private var done: [JobResult] = []
    private var stopping = false
    private var threads: [pthread_t] = []
    public let threadCount: Int

    private let callerInvoker: TaskInvoker
    private let makeInvoker: @Sendable (CancellationFlag) throws -> TaskInvoker
    private let cancellation = CancellationFlag()

    /// - Parameters:
    ///   - threads: the number of threads running jobs, the calling thread included.
    ///   - callerInvoker: the invoker the calling thread runs jobs with.
    ///   - makeInvoker: builds the invoker of another thread, honouring the flag; if it
    ///     throws, that thread fails every job it takes with the error's description.
    public init(threads: Int, callerInvoker: TaskInvoker,
                makeInvoker: @escaping @Sendable (CancellationFlag) throws -> TaskInvoker) {
        threadCount = max(1, threads)
        self.callerInvoker = callerInvoker
        self.makeInvoker = makeInvoker
    }

    /// Starts the other threads, once, when a job is waiting for them.
    private func startThreadsIfNeeded() {
        guard threads.isEmpty, threadCount > 1, !jobs.isEmpty else { return }
        for _ in 1 ..< threadCount {
            threads.append(spawnThread { [unowned self] in self.work { try self.makeInvoker(self.cancellation) } })
        }
    }

    public var name: String { "threads(\(threadCount))" }

    private func work(_ makeInvoker: () throws -> TaskInvoker) {
        let invoker: Result<TaskInvoker, Error> = Result { try makeInvoker() }
        while let (id, job) = take() {
            let result: JobResult
            switch invoker {
            case .success(let inv): result = JobResult.timing(id, job, inv)
            case .failure(let error):
                result = JobResult(id: id, outcome: .failed(message: "this thread could not load the flow: \(error)", traceback: nil), duration: 0)
            }
            monitor.locked {
                done.append(result)
                if done.count == 1 { monitor.signal(Self.jobsDone) }
            }
        }
    }

    private func take() -> (Int, TaskJob)? {
        monitor.locked {
            while jobs.isEmpty && !stopping { monitor.wait(Self.jobsReady) }
            if stopping { return nil }
            return jobs.pop()
        }
    }

    public var mapsDepthFirst: Bool { true }

    public func submit(id: Int, priority: Int, place: QueuePlace, _ job: @escaping TaskJob) {
        outbox.append((id, priority, place, job))
    }

    private func handOver() {
        guard !outbox.isEmpty else { return }
        for o in outbox { jobs.push(id: o.id, priority: o.priority, place: o.place, o.job) }
        if outbox.count == 1 { monitor.signal(Self.jobsReady) } else { monitor.broadcast(Self.jobsReady) }
        outbox.removeAll(keepingCapacity: true)
    }

    public func next(until deadline: Double?) -> [JobResult] {
        let mine: (Int, TaskJob)? = monitor.locked {
            // Under the lock, this thread takes the first queued job before the others wake,
            // unless finished ones are waiting to be handled.
            handOver()
            let mine = done.isEmpty ? jobs.pop() : nil
            startThreadsIfNeeded()  // when jobs are left for them
            return mine
        }
        if let (id, job) = mine {
            let result = JobResult.timing(id, job, callerInvoker)
            return monitor.locked {
                defer { done.removeAll(keepingCapacity: true) }
                return done + [result]
            }
        }
        spin { !done.isEmpty }
        return monitor.locked {
            while done.isEmpty {
                // Wake up now and then to notice Ctrl-C even when no job finishes.
                let tick = Clock.monotonic() + 0.05
                let wakeAt = deadline.map { min($0, tick) } ?? tick
                if !monitor.wait(Self.jobsDone, until: wakeAt), let deadline, Clock.monotonic() >= deadline { return [] }
                if Interruption.requested && done.isEmpty { return [] }
            }
            defer { done.removeAll(keepingCapacity: true) }
            return done
        }
    }

    /// Polls `ready` for a few microseconds before the coordinator blocks: a task often
    /// finishes sooner than a sleeping thread can be woken.
    private func spin(_ ready: () -> Bool) {
        for _ in 0 ..< 64 {
            if monitor.locked(ready) { return }
            sched_yield()
        }
    }

    public func shutdown() {
        cancellation.set()
        monitor.locked {
            stopping = true
            monitor.broadcast(Self.jobsReady)
        }
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }
}
