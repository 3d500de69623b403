import DKCore
import DKReport

/// Writing a run's report (docs/report.md), for `dkrun report` and `dkrun FLOW.lua --report`.
enum ReportOutput {
    /// Above this many tasks Graphviz takes long and the drawing is unreadable: the report
    /// leaves the graph out and says so (mapped children do not count: they are one node).
    static let maxGraphNodes = 500

    /// The flow's graph coloured by the run's states, or why it is not drawn.
    static func graph(of flow: FlowGraph, states: [String: StateKind]) -> ReportPage.Graph {
        guard flow.count <= maxGraphNodes else {
            return .omitted("The task graph is not drawn: the flow has \(flow.count) tasks, more than \(maxGraphNodes) "
                + "(dkrun graph FLOW.lua --format svg draws it alone).")
        }
        do {
            return .svg(try GraphRenderer(graph: flow, states: states).image("svg"))
        } catch {
            return .omitted("The task graph is not drawn: \(error)")
        }
    }

    /// Makes the file (empty), so that a report that cannot be written is refused before a
    /// run starts rather than after it.
    static func claim(_ path: String) throws {
        try write([], to: path)
    }

    static func write(_ page: ReportPage, to path: String) throws {
        try write(page.html(), to: path)
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        do { try Files.write(path, bytes) } catch { throw CommandError.failure("cannot write the report: \(error)") }
    }
}

/// Keeps a run's events for its report (`--report`), beside the reporter and the history.
final class RunEventCollector: RunObserver, @unchecked Sendable {
    private let monitor = Monitor()
    private var kept: [RunEvent] = []

    func handle(_ event: RunEvent) {
        monitor.locked { kept.append(event) }
    }

    var events: [RunEvent] { monitor.locked { kept } }
}
