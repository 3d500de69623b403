import ArgumentParser
import DKCore
import DKDask
import DKHistory
import DKLua

/// The options every command that loads a flow shares.
struct FlowOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The flow script.", valueName: "FLOW.lua"))
    var script: String

    @Option(name: .customLong("flow"), help: ArgumentHelp("The flow to use when the script returns several.", valueName: "NAME"))
    var flowName: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter value, parsed as a YAML scalar (repeatable).", valueName: "NAME=VALUE"))
    var params: [String] = []

    @Option(name: .customLong("params-file"), help: ArgumentHelp("A YAML file mapping parameter names to values.", valueName: "FILE"))
    var paramsFile: String?
}

/// A flow script evaluated, one of its flows described and validated, its parameters read.
struct LoadedFlow {
    let host: LuaHost
    let spec: FlowSpec
    let graph: FlowGraph
    /// The parameter values given on the command line (not yet merged with defaults).
    let parameters: [String: Value]
    /// Those values over the flow's defaults: what the payload carries.
    let resolvedParameters: [String: Value]
    let timings: [(String, Double)]

    /// Every failure here is bad input (the errors of evaluating and validating a flow say
    /// so themselves): it exits 2 and nothing has run; Ctrl-C exits 130.
    /// - Parameter printsToStderr: where the script's top-level `print` goes, when stdout
    ///   is for machine-readable output.
    init(_ options: FlowOptions, printsToStderr: Bool = false) throws {
        var timings: [(String, Double)] = []
        var t = Clock.monotonic()
        func lap(_ name: String) {
            let now = Clock.monotonic()
            timings.append((name, now - t))
            t = now
        }
        let parameters = try ParameterInput.read(options.params, file: options.paramsFile)
        do {
            host = try LuaHost(sources: .script(path: options.script, searchPath: .forScript(at: options.script)))
            host.printsToStderr = printsToStderr
            // Durations from the history: a run without one (it cannot be opened) batches nothing.
            host.clusterRunner = DaskRunner(warmDriver: true) { flow in (try? RunHistory().latestDurations(flow: flow)) ?? [:] }
            try host.evaluate()
            lap("evaluate")
            // A command describes the flow once (a run calls its tasks, which need none of
            // the tables describing it: 36 MB of a chain of 100,000 tasks).
            spec = try host.selectFlow(named: options.flowName, describedAgain: false)
            graph = try FlowGraph(spec)
            resolvedParameters = try graph.resolveParameters(parameters)
            lap("validate")
        } catch where Interruption.requested {
            throw CommandError.interrupted
        }
        self.parameters = parameters
        self.timings = timings
    }

    /// The payload of the flow with its parameters, its bytes and its DAG hash.
    /// - Parameter encoding: false: no bytes (empty), only the DAG hash (a run here needs no
    ///   bytes, 36 MB for 100,000 tasks, whose making was the peak of its memory).
    func serialised(encoding: Bool = true) -> (payload: Payload, bytes: [UInt8], dagHash: String) {
        let payload = host.sources.payload(for: spec, parameters: resolvedParameters)
        guard encoding else { return (payload, [], Payload.dagHash(spec)) }
        let (bytes, dagHash) = payload.encodedWithDAGHash()
        return (payload, bytes, dagHash)
    }
}

/// Parameter values from `--param NAME=VALUE` and `--params-file`.
enum ParameterInput {
    static func read(_ pairs: [String], file: String?) throws -> [String: Value] {
        var values: [String: Value] = [:]
        if let file {
            let text: [UInt8]
            do { text = try Files.read(file, limit: .paramsFile) } catch { throw CommandError.badInput("cannot read params file \(error)") }
            let document = try YAML.load(String(decoding: text, as: UTF8.self), source: file)
            guard let map = document.mapValue ?? (document.isNull ? [:] : nil) else {
                throw CommandError.badInput("\(file): a params file must map parameter names to values, not hold \(document.typeNameWithArticle)")
            }
            for (k, v) in map {
                guard let name = k.stringValue else { throw CommandError.badInput("\(file): parameter names must be strings, got \(JSON.encode(k))") }
                values[name] = v
            }
        }
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw CommandError.badInput("--param '\(pair)': expected NAME=VALUE")
            }
            let name = String(pair[..<eq])
            let text = String(pair[pair.index(after: eq)...])
            values[name] = try YAML.load(text, source: "--param \(name)")
        }
        return values
    }
}
