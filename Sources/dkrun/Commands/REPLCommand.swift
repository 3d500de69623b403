import ArgumentParser
import DKCore
import DKDask
import DKLua
#if canImport(Glibc)
import Glibc
#endif

struct REPLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Experiment with flows interactively (also `dkrun` alone on a terminal)."
    )

    @Argument(help: ArgumentHelp("A flow script to load first.", valueName: "FLOW.lua"))
    var script: String?

    func run() throws {
        let terminal = isatty(STDIN_FILENO) != 0
        Interruption.installForREPL()
        let session = try REPLSession(observer: Reporter(verbosity: .normal, progressOnTerminal: terminal))
        session.host.clusterRunner = DaskRunner(warmDriver: true)
        var reader: LineReader = terminal ? try EditLineReader(complete: session.completions) : PipeReader()
        let repl = REPL(session: session, interactive: terminal)
        if terminal { REPL.show("dkrun \(Product.version) REPL (Lua 5.4). :help for commands, Ctrl-D to leave.") }
        if let script { repl.command(":load \(script)") }
        repl.loop(&reader)
    }
}

/// Reads chunks (continuing incomplete ones, as lua.c does), runs them or a `:command`,
/// prints results and errors, and keeps going.
struct REPL {
    let session: REPLSession
    let interactive: Bool

    static let help = """
        Lua 5.4 with dk and the flow API. An expression prints its value; `_` is the last one.
          :help                  this text
          :load FILE             run a script; the flows it makes become available
          :flows                 list the flows made so far
          :graph [FLOW]          the flow's graph as Graphviz dot
          :inspect [FLOW]        the flow's tasks, edges, parameters and configuration
          :run [FLOW] [k=v ...]  run a flow (the latest when no name); its state goes to `_`
          :quit                  leave (or Ctrl-D)
        Ctrl-C stops a running flow, or clears the line being typed.
        """

    func loop(_ reader: inout LineReader) {
        var buffer = ""
        while true {
            let (line, interrupted) = reader.read(prompt: buffer.isEmpty ? "dk> " : "..> ")
            if interrupted {
                buffer = ""
                Self.show("^C")
                continue
            }
            guard let line else {
                if interactive { Self.show("") }
                if !buffer.isEmpty { fputs("stdin: incomplete chunk at the end of input\n", stderr) }
                return
            }
            if buffer.isEmpty && line.hasPrefix(":") {
                reader.remember(line)
                if !command(line) { return }
                continue
            }
            buffer += buffer.isEmpty ? line : "\n" + line
            switch session.feed(buffer) {
            case .needsMore: continue
            case .done(let text):
                if let text { Self.show(text) }
            case .failed(let message):
                fputs(SecretMask.apply(message) + "\n", stderr)
            }
            fflush(stdout)  // what the chunk printed, now, even when stdout is a pipe
            reader.remember(buffer)
            buffer = ""
            Interruption.reset()
        }
    }

    /// Runs a `:command`; false to leave.
    @discardableResult
    func command(_ line: String) -> Bool {
        let words = line.split(separator: " ").map(String.init)
        let argument = words.count > 1 ? words[1] : nil
        defer {
            fflush(stdout)
            Interruption.reset()
        }
        switch words[0] {
        case ":quit", ":q", ":exit": return false
        case ":help": Self.show(Self.help)
        case ":flows":
            let names = ((try? session.helper("flows"))?.arrayValue ?? []).compactMap(\.stringValue)
            Self.show(names.isEmpty ? "(no flows yet)" : names.map { "  \($0)" }.joined(separator: "\n"))
        case ":load":
            guard let path = argument else { return report(":load needs a file") }
            do {
                let text = try Files.read(path, limit: .source)
                switch session.feed(String(decoding: text, as: UTF8.self), chunkName: "@" + path) {
                case .done(let text): if let text { Self.show(text) }
                case .needsMore: return report("\(path): unexpected end of file")
                case .failed(let message): return report(message)
                }
            } catch {
                return report(":load: \(error)")
            }
        case ":graph", ":inspect":
            do {
                let graph = try FlowGraph(try session.describe(flow: argument))
                if words[0] == ":graph" {
                    Self.show(GraphRenderer(graph: graph, states: [:]).dot(), terminator: "")
                } else {
                    InspectCommand.render(graph, source: "the REPL", types: try session.host.configurationTypes()).forEach { Self.show($0) }
                }
            } catch {
                return report("\(error)")
            }
        case ":run":
            let name = argument.flatMap { $0.contains("=") ? nil : $0 }
            let pairs = Array(words.dropFirst(name == nil ? 1 : 2))
            do {
                let parameters = try ParameterInput.read(pairs, file: nil)
                switch session.run(flow: name, parameters: parameters) {
                case .done(let text): if let text { Self.show(text) }
                case .needsMore: break
                case .failed(let message): return report(message)
                }
            } catch {
                return report("\(error)")
            }
        default:
            return report("unknown command \(words[0]) (:help lists them)")
        }
        return true
    }

    private func report(_ message: String) -> Bool {
        fputs(SecretMask.apply(message) + "\n", stderr)
        return true
    }

    /// Prints REPL output, secrets masked.
    static func show(_ text: String, terminator: String = "\n") {
        print(SecretMask.apply(text), terminator: terminator)
    }
}
