import ArgumentParser
import DKCore
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
        let states = try events.map(Self.readStates) ?? [:]
        let renderer = GraphRenderer(graph: loaded.graph, states: states)
        var bytes: [UInt8]
        switch format {
        case .dot: bytes = Array(renderer.dot().utf8)
        case .mermaid: bytes = Array(renderer.mermaid().utf8)
        case .svg, .png:
            let result: Subprocess.Result
            do {
                result = try Subprocess.run(["dot", "-T\(format.rawValue)"], input: Array(renderer.dot().utf8))
            } catch {
                throw CommandError.failure("cannot run Graphviz's dot (install the graphviz package): \(error)")
            }
            guard result.status == 0 else {
                throw CommandError.failure("dot failed: \(String(decoding: result.stderr, as: UTF8.self))")
            }
            bytes = result.stdout
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

    /// The last state of each task (not of mapped children) in a JSON events file.
    static func readStates(_ path: String) throws -> [String: StateKind] {
        let text: [UInt8]
        do { text = try Files.read(path, limit: .events) } catch { throw CommandError.badInput("cannot read events: \(error)") }
        var states: [String: StateKind] = [:]
        for (n, line) in String(decoding: text, as: UTF8.self).split(separator: "\n").enumerated() {
            // JSON is YAML's flow style, so libyaml reads the events.
            let event: Value
            do { event = try YAML.load(String(line), source: "\(path):\(n + 1)", maxDepth: Value.maxMessageDepth) } catch {
                throw CommandError.badInput("\(path):\(n + 1): not a JSON event line")
            }
            guard event["event"]?.stringValue == "task_state", event["map_index"] == nil,
                  let task = event["task"]?.stringValue, let state = event["state"]?.stringValue.flatMap(StateKind.init(rawValue:))
            else { continue }
            states[task] = state
        }
        return states
    }
}
