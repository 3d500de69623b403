import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// How much a run prints.
enum Verbosity: Comparable {
    case quiet, normal, verbose
}

/// Prints a run for people: a timestamped line per task transition and per task log line,
/// a progress line while running on a terminal, and a final summary. Every line is masked
/// (`SecretMask`), and any text before it is cut into lines.
final class Reporter: RunObserver, @unchecked Sendable {
    private let verbosity: Verbosity
    private let monitor = Monitor()
    private let progress: ProgressLine?
    private var failures: [(TaskRunID, TaskState)] = []
    /// Finished task runs per Dask worker, for the summary.
    private var runsByWorker: [String: Int] = [:]

    init(verbosity: Verbosity, progressOnTerminal: Bool = true) {
        self.verbosity = verbosity
        progress = progressOnTerminal && verbosity != .quiet && isatty(STDERR_FILENO) != 0 ? ProgressLine() : nil
    }

    func handle(_ event: RunEvent) {
        monitor.locked {
            switch event {
            case let .flowStarted(flow, tasks, executor, time):
                progress?.total = tasks
                if verbosity >= .normal { line(time, .info, "Flow '\(flow)': \(tasks) tasks, executor \(executor)") }
            case let .taskState(id, state, attempt, duration, worker, time):
                if let worker, state.isFinished { runsByWorker[worker, default: 0] += 1 }
                taskState(id, state, attempt: attempt, duration: duration, worker: worker, time: time)
            case let .log(id, level, message, time):
                if level >= .info || verbosity == .verbose {
                    line(time, level, "\(id.map { "\($0) | " } ?? "")\(message)")
                }
            case let .flowFinished(flow, state, counts, wall, _):
                progress?.clear()
                summary(flow, state, counts, wall)
            }
            progress?.draw()
        }
    }

    private func taskState(_ id: TaskRunID, _ state: TaskState, attempt: Int, duration: Double?, worker: String?, time: Double) {
        progress?.note(id, state.kind)
        if state.isFailed { failures.append((id, state)) }
        guard verbosity >= .normal || state.isFailed else { return }
        var text = "\(id): \(state.kind.rawValue)"
        if state.kind == .running, let worker { text += " on \(worker)" }
        if state.kind == .running && attempt > 1 { text += " (attempt \(attempt))" }
        if let d = duration, state.kind != .running { text += " (\(Clock.describe(d)))" }
        if let m = state.message, state.kind != .success { text += ": \(m)" }
        let level: LogLevel = state.isFailed ? .error : state.kind == .retrying ? .warning : .info
        line(time, level, text)
        if verbosity == .verbose, let tb = state.traceback {
            emit(SecretMask.apply(tb).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        }
    }

    private func summary(_ flow: String, _ state: TaskState, _ counts: [StateKind: Int], _ wall: Double) {
        guard verbosity >= .normal || !state.isSuccessful else { return }
        let parts = StateKind.allCases.compactMap { k in counts[k].map { "\($0) \(k.rawValue)" } }
        emit("Flow '\(flow)': \(state.kind.rawValue) in \(Clock.describe(wall)) — \(parts.isEmpty ? "no tasks" : parts.joined(separator: ", "))")
        for (id, s) in failures.prefix(20) {
            // Masked before it is cut: a secret with a line break in it goes whole.
            emit("  \(s.kind.rawValue): \(id) — \(s.message.map(SecretMask.apply)?.split(separator: "\n").first.map(String.init) ?? "")")
        }
        if failures.count > 20 { emit("  ... and \(failures.count - 20) more") }
        if state.kind == .failed, failures.isEmpty, let m = state.message { emit("  \(m)") }
        if state.kind == .paused, let m = state.message {
            emit("  \(m). dkrun cannot resume a paused run yet: run the flow again to go on")
        }
        if verbosity >= .normal && !runsByWorker.isEmpty {
            emit("  Task runs per worker: " + runsByWorker.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
    }

    private func line(_ time: Double, _ level: LogLevel, _ text: String) {
        let name = level.name.padding(to: 7)
        emit("\(Clock.timeOfDay(time)) \(name) \(text)")
    }

    private func emit(_ text: String) {
        progress?.clear()
        fputs(SecretMask.apply(text) + "\n", stdout)
        fflush(stdout)
    }
}

/// The progress line on a terminal, on stderr: cleared before each log line and redrawn at
/// most every 100 ms, so a burst of lines costs no extra writes. It counts the tasks it
/// shows: without one (not a terminal, --quiet) a run keeps no set of its tasks' names.
final class ProgressLine {
    var total = 0
    /// The tasks that have ended (a Dask run may report one again: RunEvents).
    private var finished: Set<String> = []
    private var running: Set<TaskRunID> = []
    private var shown = false
    private var lastDraw = 0.0
    private let width = Int(Files.environment("COLUMNS").flatMap(Int.init) ?? 100)

    func note(_ id: TaskRunID, _ kind: StateKind) {
        switch kind {
        case .running: running.insert(id)
        // Between attempts or loop iterations: the task has not finished.
        case .retrying, .looped: running.remove(id)
        default:
            running.remove(id)
            if id.mapIndex == nil { finished.insert(id.task) }
        }
    }

    func draw() {
        let now = Clock.monotonic()
        guard now - lastDraw > 0.1 else { return }
        lastDraw = now
        let running = running.map(\.description).sorted()
        let done = finished.count
        var text = "[\(done)/\(total) done] " + (running.isEmpty ? "" : "running: " + running.prefix(5).joined(separator: ", "))
        if running.count > 5 { text += ", +\(running.count - 5)" }
        fputs("\r\u{1b}[K" + String(text.prefix(width - 1)), stderr)
        shown = true
    }

    func clear() {
        guard shown else { return }
        fputs("\r\u{1b}[K", stderr)
        shown = false
    }
}

extension String {
    func padding(to n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
