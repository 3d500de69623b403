import ArgumentParser
import DKCore
import DKReport
#if canImport(Glibc)
import Glibc
#endif

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a flow's task graph as Graphviz dot, Mermaid, SVG or PNG."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case dot, mermaid, svg, png
    }

    @OptionGroup var flow: FlowOptions

    @Option(help: "dot, mermaid, svg or png (svg and png need Graphviz's `dot`).")
    var format: Format = .dot

    @Option(help: ArgumentHelp("Colour tasks by their states in a finished run's --json-events output.", valueName: "FILE"))
    var events: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of stdout.", valueName: "FILE"))
    var output: String?

    func run() throws {
        let loaded = try LoadedFlow(flow, printsToStderr: output == nil)
        let states = try events.map { RunReport(events: try EventsFile.read($0)).taskStates } ?? [:]
        let renderer = GraphRenderer(graph: loaded.graph, states: states)
        var bytes: [UInt8]
        switch format {
        case .dot: bytes = Array(renderer.dot().utf8)
        case .mermaid: bytes = Array(renderer.mermaid().utf8)
        case .svg, .png: bytes = try renderer.image(format.rawValue)
        }
        if let output {
            do { try Files.write(output, bytes) } catch { throw CommandError.failure("\(error)") }
        } else {
            if format == .png && isatty(STDOUT_FILENO) != 0 {
                throw CommandError.badInput("PNG is binary; write it to a file with -o FILE")
            }
            _ = fwrite(bytes, 1, bytes.count, stdout)
        }
    }
}
