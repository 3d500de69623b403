import DKCore

/// What a report shows of one flow run, built from the run's events (`--json-events`, the
/// history's log file, or a run as it goes): the run, each task run, each attempt of each,
/// laid out in the timeline's lanes, and the log lines.
public struct RunReport: Sendable {
    /// What is known of the run besides its events (from the history or the command that runs
    /// it); its events override the flow, executor, times and state.
    public struct Run: Sendable {
        public var id: String?
        public var flow: String?
        public var executor: String?
        /// "here" or "kubernetes".
        public var placement: String?
        public var parameters: Value?
        public var started: Double?
        public var ended: Double?
        public var state: StateKind?
        public var message: String?
        public var counts: [StateKind: Int] = [:]

        public init(id: String? = nil, flow: String? = nil, executor: String? = nil, placement: String? = nil, parameters: Value? = nil,
                    started: Double? = nil, ended: Double? = nil, state: StateKind? = nil, message: String? = nil) {
            self.id = id
            self.flow = flow
            self.executor = executor
            self.placement = placement
            self.parameters = parameters
            self.started = started
            self.ended = ended
            self.state = state
            self.message = message
        }
    }

    /// One task, or one child of a mapped task, as its last event left it.
    public struct TaskRun: Sendable {
        public var id: TaskRunID
        public var state: StateKind
        public var attempts: Int
        /// How long its last attempt took.
        public var duration: Double?
        public var worker: String?
        public var message: String?
    }

    /// One attempt that ran (a Running state and what followed it): a bar in the timeline.
    /// It starts at its Running event and lasts its measured duration (else until the next
    /// event of its task run).
    public struct Attempt: Sendable {
        /// Index in `taskRuns`.
        public var taskRun: Int
        public var number: Int
        public var start: Double
        /// Nil while it runs (a run that stopped, or is followed while it goes on).
        public var end: Double?
        /// The state it ended in (Retrying for an attempt that failed and is retried).
        public var state: StateKind
        /// Index in `lanes`.
        public var lane: Int
    }

    public struct LogLine: Sendable {
        /// Index in `taskRuns`; nil for the flow's own lines.
        public var taskRun: Int?
        public var time: Double
        public var level: LogLevel
        public var message: String
    }

    public private(set) var run: Run
    /// In the order they first changed state.
    public private(set) var taskRuns: [TaskRun] = []
    public private(set) var attempts: [Attempt] = []
    /// The timeline's rows: one per worker ("here" for this process), split into as many
    /// lanes as attempts overlapped on it (the events do not name threads, so a threads(N)
    /// run shows at most N lanes: those that ran at once).
    public private(set) var lanes: [String] = []
    public private(set) var logs: [LogLine] = []

    public init(events: [RunEvent], run: Run = Run()) {
        self.run = run
        var index: [TaskRunID: Int] = [:]
        var open: [Int: Int] = [:]  // task run -> its running attempt
        var latest: [Int: Int] = [:]  // task run -> the number of its latest attempt
        var workers: [Int: String] = [:]  // attempt -> where it ran
        for event in events {
            switch event {
            case let .flowStarted(flow, _, executor, time):
                self.run.flow = flow
                self.run.executor = executor
                self.run.started = time
            case let .taskState(id, state, attempt, duration, worker, time):
                let i = index[id] ?? taskRuns.count
                if i == taskRuns.count {
                    index[id] = i
                    taskRuns.append(TaskRun(id: id, state: state.kind, attempts: 0))
                }
                taskRuns[i].state = state.kind
                taskRuns[i].attempts = max(taskRuns[i].attempts, attempt)
                taskRuns[i].duration = duration ?? taskRuns[i].duration
                taskRuns[i].worker = worker ?? taskRuns[i].worker
                taskRuns[i].message = state.message
                if let a = open.removeValue(forKey: i) {
                    // The attempt's own measure: an event's time is when this process heard of
                    // it, and a worker thread's events come in batches.
                    attempts[a].end = duration.map { attempts[a].start + $0 } ?? time
                    attempts[a].state = state.kind
                    if let worker { workers[a] = worker }
                } else if state.kind != .running, let last = latest[i], attempt > last {
                    // A Dask worker retries on its own and sends no Running for the next
                    // attempt: it is known by its end and its measured duration.
                    latest[i] = attempt
                    if let worker { workers[attempts.count] = worker }
                    attempts.append(Attempt(taskRun: i, number: attempt, start: time - (duration ?? 0), end: time,
                                            state: state.kind, lane: 0))
                }
                if state.kind == .running {
                    open[i] = attempts.count
                    latest[i] = attempt
                    if let worker { workers[attempts.count] = worker }
                    attempts.append(Attempt(taskRun: i, number: attempt, start: time, state: .running, lane: 0))
                }
            case let .log(id, level, message, time):
                logs.append(LogLine(taskRun: id.flatMap { index[$0] }, time: time, level: level, message: message))
            case let .flowFinished(flow, state, counts, _, time):
                self.run.flow = flow
                self.run.ended = time
                self.run.state = state.kind
                self.run.message = state.message
                self.run.counts = counts
            }
        }
        layOut(workers: workers)
    }

    /// Puts each attempt in the first lane of its worker that is free when it starts; a
    /// worker's lanes are next to each other, workers in the order they first ran something.
    private mutating func layOut(workers: [Int: String]) {
        var order: [String] = []
        var laneEnds: [String: [Double]] = [:]
        var placed: [(attempt: Int, worker: String, lane: Int)] = []
        for a in attempts.indices.sorted(by: { attempts[$0].start < attempts[$1].start }) {
            let worker = workers[a] ?? "here"
            if laneEnds[worker] == nil { order.append(worker) }
            var ends = laneEnds[worker] ?? []
            // Event times are to the millisecond: an attempt that starts within one of the
            // last one's end follows it.
            let lane = ends.firstIndex { $0 <= attempts[a].start + 0.001 } ?? ends.count
            if lane == ends.count { ends.append(0) }
            ends[lane] = attempts[a].end ?? .infinity
            laneEnds[worker] = ends
            placed.append((a, worker, lane))
        }
        var first: [String: Int] = [:]
        for worker in order {
            first[worker] = lanes.count
            let count = laneEnds[worker]!.count
            lanes += count == 1 ? [worker] : (1 ... count).map { "\(worker) #\($0)" }
        }
        for p in placed { attempts[p.attempt].lane = first[p.worker]! + p.lane }
    }

    /// The last state of each task (not of mapped children): what the task graph is coloured by.
    public var taskStates: [String: StateKind] {
        var states: [String: StateKind] = [:]
        for t in taskRuns where t.id.mapIndex == nil { states[t.id.task] = t.state }
        return states
    }
}
