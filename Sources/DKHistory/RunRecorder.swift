import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// Records one flow run in the history from its events (an observer beside the reporter):
/// the run's row, each task run's row as its state changes, the run's end, and every event
/// in the run's log file. A thread of its own writes, so that a slow or locked database never
/// holds a task up: events are gathered, and each write takes all that came since the last,
/// at most `writeInterval` apart (a write is one transaction: one per event would cost a
/// 10,000-task run seconds). The writer also makes the task runs' rows from the events: the
/// thread that reports them only queues them.
///
/// A run never fails because of its history: when the history cannot be opened or written
/// (locked past the busy timeout, made by a newer dkrun, unwritable), the recorder warns
/// once and records nothing more.
public final class RunRecorder: RunObserver, @unchecked Sendable {
    /// What the command that starts or follows a run knows of it before its events come.
    public struct Run: Sendable {
        public var id: String
        /// Unknown when following a Kubernetes run by its id: its start event names it.
        public var flow: String?
        public var dagHash: String?
        public var parameters: Value?
        public var placement: RunRecord.Placement
        /// `RunRecord.script`, `RunRecord.scriptParameters`.
        public var script: String?
        public var scriptParameters: Value?

        public init(id: String, flow: String?, dagHash: String?, parameters: Value?, placement: RunRecord.Placement,
                    script: String? = nil, scriptParameters: Value? = nil) {
            self.id = id
            self.flow = flow
            self.dagHash = dagHash
            self.parameters = parameters
            self.placement = placement
            self.script = script
            self.scriptParameters = scriptParameters
        }

        func record(flow: String, started: Double) -> RunRecord {
            RunRecord(id: id, flow: flow, dagHash: dagHash, parameters: parameters, placement: placement, started: started,
                      state: .running, script: script, scriptParameters: scriptParameters)
        }
    }

    /// The least time between two writes while the run goes on (its end is written at once).
    static let writeInterval = 0.2

    private let monitor = Monitor()
    private let open: () throws -> RunHistory
    private let warn: (String) -> Void
    private var writer: pthread_t?

    /// What the command knew of the run, until its start event makes its row (a followed
    /// Kubernetes run's flow is known only then).
    private let given: Run

    // Under the monitor: the run as known so far, what the writer has yet to write.
    private var run: RunRecord?
    private var runChanged = false
    private var events: [RunEvent] = []
    /// Whether any event came: a run refused before (bad input) is no run, and is not kept.
    private var heard = false
    private var ended = false
    private var closing = false
    /// Whether the writer waits for something to write (else it is writing, or gathering).
    private var writerIdle = false
    private var failed = false
    /// The last error the run reported outside its tasks: why it ended, when no end came.
    private var lastError: String?

    /// - Parameters:
    ///   - open: opens the history (on the writer's thread: a locked database holds up no one).
    ///   - warn: says once why the run is not recorded.
    public init(run: Run, open: @escaping () throws -> RunHistory = { try RunHistory() }, warn: @escaping (String) -> Void) {
        self.open = open
        self.warn = warn
        given = run
        // Its row is written with its first event, or at `finish`.
        self.run = run.flow.map { run.record(flow: $0, started: Clock.wall()) }
        writer = spawnThread { [self] in write() }
    }

    public func handle(_ event: RunEvent) {
        monitor.locked {
            guard !failed && !closing else { return }
            heard = true
            switch event {
            case let .flowStarted(flow, _, executor, time):
                if run == nil {
                    run = given.record(flow: flow, started: time)
                }
                run?.flow = flow
                run?.executor = executor
                runChanged = true
            case .taskState:
                break  // the writer makes the task run's row (`TaskRows`)
            case let .log(id, level, message, _):
                if id == nil && level >= .error { lastError = message }
            case let .flowFinished(_, state, _, _, time):
                run?.ended = time
                run?.state = state.kind
                run?.message = state.message
                runChanged = true
                ended = true
            }
            events.append(event)
            if writerIdle { monitor.signal() }
        }
    }

    /// Writes what is left and stops the writer. A run whose end never came (the Job's pod
    /// did not start, dkrun stopped following it, the command failed) ends as `status` says,
    /// for `reason` (else the last error the run reported); nil leaves it as it is (a
    /// Kubernetes run looked at while it goes on, or left to run). A run refused as bad input
    /// before any event is not kept.
    public func finish(status: ExitStatus?, reason: String? = nil) {
        let thread: pthread_t? = monitor.locked {
            if heard || status != .badInput {
                if !ended, let status {
                    run?.ended = Clock.wall()
                    run?.state = status == .interrupted ? .cancelled : status == .success ? .success : .failed
                    run?.message = reason ?? lastError
                }
                runChanged = true
            }
            closing = true
            monitor.signal()
            defer { writer = nil }
            return writer
        }
        if let thread { pthread_join(thread, nil) }
    }

    /// The writer's loop: opens the history, then writes what came, until `finish`.
    private func write() {
        let history: RunHistory
        var log: RunLog?
        do {
            history = try open()
        } catch {
            return give(up: error)
        }
        var lastWrite = -Double.infinity
        var rows = TaskRows()
        var wrote = false
        let secretsAtStart = SecretMask.registeredCount
        defer { if wrote && SecretMask.registeredCount > secretsAtStart { forgetUnmasked(history) } }
        while true {
            let work: (run: RunRecord, events: [RunEvent])? = monitor.locked {
                writerIdle = true
                while !closing && !hasWork { monitor.wait() }
                writerIdle = false
                let next = lastWrite + Self.writeInterval
                while !closing && Clock.monotonic() < next { monitor.wait(until: next) }
                guard hasWork, let run else { return nil }
                let work = (run, events)
                events = []
                runChanged = false
                return work
            }
            guard let work else { return }
            lastWrite = Clock.monotonic()
            do {
                try history.record(work.run, tasks: rows.changed(by: work.events))
                wrote = true
                if log == nil { log = try RunLog(creating: history.logPath(of: work.run.id)) }
                try log?.append(work.events)
            } catch {
                return give(up: error)
            }
        }
    }

    /// A secret became known while the run was written: the versions of its rows written
    /// before, masked without it, leave no copy (`RunHistory.forgetOverwritten`). Rows not
    /// written again (a task that ended before) and the events file keep what they had.
    private func forgetUnmasked(_ history: RunHistory) {
        guard !monitor.locked({ failed }) else { return }  // said once already why
        let unmasked = "a secret this run read may stay unmasked in the run history's write-ahead log"
        do {
            if try !history.forgetOverwritten() { warn("\(unmasked): another dkrun was using the history") }
        } catch {
            warn("\(unmasked): \(error)")
        }
    }

    /// Whether there is something to write (under the monitor); nothing is written before the
    /// run's flow is known.
    private var hasWork: Bool { run != nil && (runChanged || !events.isEmpty) }

    private func give(up error: Error) {
        monitor.locked {
            failed = true
            events = []
        }
        warn("this run is not recorded in the run history: \(error)")
    }
}

/// The task runs' rows as a run's events change them (the writer's own: no lock). A no-op
/// task's Running and finished state usually come in one write: they cost five hashes of its
/// id (docs/performance.md, the run history's writer).
struct TaskRows {
    /// The rows of the task runs that had not finished at the last write (a finished run's
    /// row is written once more and let go: a run of 100,000 tasks does not hold them all).
    private var unfinished: [TaskRunID: TaskRunRecord] = [:]
    /// Each task's place in the run: the order its first event came in.
    private var positions: [String: Int] = [:]

    /// The rows the events change, as they stand after them, in the order they first changed.
    mutating func changed(by events: [RunEvent]) -> [TaskRunRecord] {
        var rows: [TaskRunRecord] = []
        var index: [TaskRunID: Int] = [:]  // where each id's row is in `rows`
        rows.reserveCapacity(events.count)
        index.reserveCapacity(events.count)  // growing would hash every id again
        for event in events {
            if case let .flowStarted(_, tasks, _, _) = event { positions.reserveCapacity(tasks) }
            guard case let .taskState(id, state, attempt, duration, worker, time) = event else { continue }
            let i: Int
            if let known = index[id] {
                i = known
            } else {
                i = rows.count
                index[id] = i
                rows.append(unfinished.removeValue(forKey: id)
                            ?? TaskRunRecord(id: id, position: position(of: id.task), state: state.kind, attempts: 0))
            }
            rows[i].state = state.kind
            rows[i].attempts = max(rows[i].attempts, attempt)
            if let duration { rows[i].duration = duration }
            if let worker { rows[i].worker = worker }
            rows[i].message = state.message
            if let location = state.resultLocation { rows[i].resultLocation = location }
            if state.kind == .running && rows[i].started == nil { rows[i].started = time }
            if state.isFinished { rows[i].ended = time }
        }
        for row in rows where row.ended == nil { unfinished[row.id] = row }
        return rows
    }

    /// The task's place, given to it when first asked for (one hash: the default is
    /// inserted through the subscript's modify accessor).
    private mutating func position(of task: String) -> Int {
        func value(_ position: inout Int) -> Int { position }
        let next = positions.count
        return value(&positions[task, default: next])
    }
}
