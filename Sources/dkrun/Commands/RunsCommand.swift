import ArgumentParser
import DKCore
import DKHistory
import FoundationEssentials

/// `dkrun runs`: the run history (docs/results.md), which every `dkrun FLOW.lua` and every
/// followed Kubernetes run writes.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the flow runs in the run history (in ~/.dkrun/history, or $DKRUN_HOME/history); show, remove or prune them.",
        subcommands: [List.self, Show.self, Logs.self, Remove.self, Prune.self],
        defaultSubcommand: List.self
    )

    /// The run a user names by its id or its first characters (`RunIDPrefix`).
    static func find(_ given: String, in history: RunHistory) throws -> RunRecord {
        let id = try RunIDPrefix.resolve(given, among: try history.runIDs(), place: "in the run history (\(history.databasePath))")
        guard let run = try history.run(id) else { throw CommandError.badInput("flow run \(id) was removed meanwhile") }
        return run
    }

    /// "2026-12-01 22:40:11" (UTC).
    static func time(_ t: Double) -> String {
        String(Clock.iso8601(t).prefix(19).map { $0 == "T" ? " " : $0 })
    }

    /// Rows as columns as wide as their widest cell, the last column as it is.
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0 ..< columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == columns - 1 ? cell : cell.padding(to: widths[c]) }.joined(separator: "  ").trimmed
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the runs, the latest first.")

        @Option(name: .customLong("flow"), help: ArgumentHelp("Only this flow's runs.", valueName: "NAME"))
        var flow: String?

        @Option(help: ArgumentHelp("At most this many runs.", valueName: "N"))
        var limit = 20

        @Flag(help: "Print the runs as a JSON array.")
        var json = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        func run() throws {
            let history = try RunHistory()
            let runs = try history.runs(flow: flow, limit: limit)
            if json {
                print(JSON.encode(.array(runs.map(Self.value))))
                return
            }
            guard !runs.isEmpty else {
                print("no runs\(flow.map { " of flow '\($0)'" } ?? "") in the run history (\(history.databasePath))")
                return
            }
            let rows = runs.map { r in
                [RunIDPrefix.short(r.id), r.flow, r.state.rawValue, RunsCommand.time(r.started),
                 r.ended.map { Clock.describe($0 - r.started) } ?? "-", (r.placement == .kubernetes ? "kubernetes: " : "") + (r.executor ?? "-")]
            }
            for line in RunsCommand.table([["RUN", "FLOW", "STATE", "STARTED (UTC)", "TOOK", "EXECUTOR"]] + rows) { print(SecretMask.apply(line)) }
        }

        static func value(_ r: RunRecord) -> Value {
            var m: [String: Value] = [
                "id": .text(r.id), "flow": .text(r.flow), "state": .text(r.state.rawValue), "placement": .text(r.placement.rawValue),
                "started": .text(Clock.iso8601(r.started)),
            ]
            m["ended"] = r.ended.map { .text(Clock.iso8601($0)) }
            m["executor"] = r.executor.map(Value.text)
            m["dag_hash"] = r.dagHash.map(Value.text)
            m["parameters"] = r.parameters
            m["message"] = r.message.map(Value.text)
            return Value(textKeys: m)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a run and the table of its task runs.")

        @Argument(help: ArgumentHelp("The run's id (or its first characters).", valueName: "RUN"))
        var runID: String

        func run() throws {
            let history = try RunHistory()
            let r = try RunsCommand.find(runID, in: history)
            var lines = ["Flow run \(r.id): flow '\(r.flow)', \(r.state.rawValue)" + (r.message.map { " (\(Self.firstLine($0)))" } ?? "")]
            let took = r.ended.map { ", took \(Clock.describe($0 - r.started))" } ?? ""
            lines.append("  started \(RunsCommand.time(r.started)) UTC\(took); \(r.placement == .kubernetes ? "on Kubernetes, " : "")"
                + "executor \(r.executor ?? "unknown")")
            lines.append("  DAG hash \(r.dagHash ?? "unknown"); parameters \(r.parameters.map(JSON.encode) ?? "unknown")")
            lines.append("")
            let tasks = try history.tasks(of: r.id)
            if tasks.isEmpty {
                lines.append("No task ran.")
            } else {
                lines += RunsCommand.table([["TASK", "STATE", "ATTEMPTS", "DURATION", "WORKER", "RESULT", "MESSAGE"]] + tasks.map { t in
                    [t.id.description, t.state.rawValue, String(t.attempts), t.duration.map(Clock.describe) ?? "-", t.worker ?? "-",
                     t.resultLocation ?? "-", t.message.map(Self.firstLine) ?? ""]
                })
            }
            for line in lines { print(SecretMask.apply(line)) }
        }

        static func firstLine(_ text: String) -> String { text.split(separator: "\n").first.map(String.init) ?? "" }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Print a run's log lines and task states as they were reported, or one task's.")

        @Argument(help: ArgumentHelp("The run's id (or its first characters).", valueName: "RUN"))
        var runID: String

        @Argument(help: ArgumentHelp("Only this task's (name, or name[i] for a mapped child).", valueName: "TASK"))
        var task: String?

        func run() throws {
            let history = try RunHistory()
            let r = try RunsCommand.find(runID, in: history)
            if let task {
                let names = try history.tasks(of: r.id).map(\.id)
                guard names.contains(where: { $0.task == task || $0.description == task }) else {
                    let known = Set(names.map(\.task)).sorted()
                    throw CommandError.badInput("flow run \(r.id) has no task '\(task)' "
                        + (known.isEmpty ? "(no task ran)" : "(its tasks: \(known.joined(separator: ", ")))"))
                }
            }
            let events: [RunEvent]
            do { events = try RunLog.events(at: history.logPath(of: r.id)) } catch {
                throw CommandError.failure("the log of flow run \(r.id) cannot be read: \(error)")
            }
            let reporter = Reporter(verbosity: .verbose, progressOnTerminal: false)
            for event in events where task.map({ Self.event(event, isOf: $0) }) ?? true { reporter.handle(event) }
        }

        /// Whether the event is a state or log line of the task (of every child, for a mapped task's name).
        static func event(_ event: RunEvent, isOf task: String) -> Bool {
            let id: TaskRunID?
            switch event {
            case let .taskState(taskRun, _, _, _, _, _): id = taskRun
            case let .log(taskRun, _, _, _): id = taskRun
            default: id = nil
            }
            return id.map { $0.task == task || $0.description == task } ?? false
        }
    }

    /// Removes what the runs kept for a resume in the default location (`KeptPlace`); a
    /// location a flow names is the user's to clean (docs/results.md).
    static func removeKeptResults(_ ids: [String]) {
        guard case .local(let dir) = ResultLocation.defaultLocation else { return }
        for id in ids { try? FileManager.default.removeItem(atPath: Files.join(dir, "runs/\(id)")) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm",
                                                        abstract: "Remove runs from the history, with their logs and the results they kept here.")

        @Argument(help: ArgumentHelp("The runs' ids (or their first characters).", valueName: "RUN"))
        var runs: [String]

        func run() throws {
            let history = try RunHistory()
            let ids = try runs.map { try RunsCommand.find($0, in: history).id }
            try history.remove(ids)
            RunsCommand.removeKeptResults(ids)
            for id in ids { print("removed flow run \(id)") }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove the runs that started longer ago than a duration, with their logs and the results they kept here.")

        @Option(name: .customLong("older-than"), help: ArgumentHelp("How long ago: 30d, 12h, 90m, 45s or 2w.", valueName: "DURATION"))
        var olderThan: String

        static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]

        /// The duration in seconds; nil when it is none.
        static func seconds(_ text: String) -> Double? {
            guard let unit = text.last.flatMap({ units[$0] }), let n = Int(text.dropLast()), n >= 0,
                  Double(n) * unit <= Numbers.maxSeconds else { return nil }
            return Double(n) * unit
        }

        func validate() throws {
            if Self.seconds(olderThan) == nil {
                throw ValidationError("--older-than: a duration such as 30d, 12h, 90m or 45s expected, got '\(olderThan)'")
            }
        }

        func run() throws {
            let cutoff = Clock.wall() - Self.seconds(olderThan)!
            let removed = try RunHistory().prune(startedBefore: cutoff)
            RunsCommand.removeKeptResults(removed)
            print("removed \(removed.count) flow run\(removed.count == 1 ? "" : "s") that started before \(RunsCommand.time(cutoff)) UTC")
        }
    }
}
