import ArgumentParser
import DKCore
import DKHistory
import DKReport

/// `dkrun report`: a flow run's report (docs/report.md), from the run history or a saved
/// `--json-events` stream.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a flow run's report: one HTML page with its timeline, task graph, task runs and log lines."
    )

    @Argument(help: ArgumentHelp("The run's id in the run history (or its first characters).", valueName: "RUN"))
    var runID: String?

    @Option(help: ArgumentHelp("Report the run in this saved --json-events output instead.", valueName: "FILE"))
    var events: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "FILE"))
    var output: String

    @Option(help: ArgumentHelp("The flow's script, to draw the task graph (a run's events do not hold the graph; a run in the history names the script it ran, drawn while its graph is still the run's).", valueName: "FLOW.lua"))
    var script: String?

    func validate() throws {
        if (runID == nil) == (events == nil) { throw ValidationError("Name a run (RUN) or an events file (--events FILE), one of them.") }
    }

    func run() throws {
        let report: RunReport
        var dagHash: String?
        var recordedScript: String?
        if let events {
            report = RunReport(events: try EventsFile.read(events))
        } else {
            let history = try RunHistory()
            let r = try RunsCommand.find(runID!, in: history)
            let events: [RunEvent]
            do { events = try RunLog.events(at: history.logPath(of: r.id)) } catch {
                throw CommandError.failure("the log of flow run \(r.id) cannot be read: \(error)")
            }
            dagHash = r.dagHash
            recordedScript = r.script
            report = RunReport(events: events, run: RunReport.Run(
                id: r.id, flow: r.flow, executor: r.executor, placement: r.placement.rawValue, parameters: r.parameters,
                started: r.started, ended: r.ended, state: r.state, message: r.message))
        }
        let graph: ReportPage.Graph
        if let script {
            graph = try drawn(from: script, report: report, dagHash: dagHash)
        } else if let recordedScript {
            // The script the run recorded draws the graph while it is still the run's.
            do { graph = try drawn(from: recordedScript, report: report, dagHash: dagHash) } catch {
                graph = .omitted("The task graph is not drawn from \(recordedScript), the script the run ran: \(error)")
            }
        } else {
            graph = .omitted("The task graph is drawn from the flow's script: dkrun report ... --script FLOW.lua.")
        }
        try ReportOutput.write(ReportPage(report: report, graph: graph), to: output)
    }

    /// The task graph of the flow `script` returns, coloured by the run's states; bad input
    /// when its graph is not the one the run ran (`dagHash`).
    private func drawn(from script: String, report: RunReport, dagHash: String?) throws -> ReportPage.Graph {
        let loaded = try LoadedFlow(FlowOptions.parse([script] + (report.run.flow.map { ["--flow", $0] } ?? [])), printsToStderr: true)
        let scriptHash = loaded.serialised().dagHash
        if let dagHash, dagHash != scriptHash {
            throw CommandError.badInput("\(script): flow '\(loaded.spec.name)' is not the flow run \(report.run.id ?? "") ran "
                + "(its task graph changed since: DAG hash \(scriptHash), the run's \(dagHash))")
        }
        return ReportOutput.graph(of: loaded.graph, states: report.taskStates)
    }
}
