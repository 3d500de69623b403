import ArgumentParser
import DKCore
#if canImport(Glibc)
import Glibc
#endif

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a flow's tasks, edges, parameters and configuration without running it."
    )

    @OptionGroup var flow: FlowOptions

    @Flag(help: "Print the flow's description and DAG hash as JSON.")
    var json = false

    func run() throws {
        let loaded = try LoadedFlow(flow, printsToStderr: json)
        let spec = loaded.spec
        if json {
            let hash = Payload.dagHash(spec)
            var m = spec.descriptionValue.mapValue!
            m["dag_hash"] = .text(hash)
            print(JSON.encode(.map(m)))
            return
        }
        for line in Self.render(loaded.graph, source: flow.script) { print(line) }
    }

    /// The human-readable description `inspect` (and the REPL's :inspect) prints.
    static func render(_ graph: FlowGraph, source: String) -> [String] {
        let spec = graph.spec
        var out: [String] = []
        out.append("Flow '\(spec.name)' from \(source)")
        out.append("  DAG hash: \(Payload.dagHash(spec))")
        for key in FlowSpec.configurationKeys {
            out.append("  \(key): \(spec.configuration[key].map(Self.describeConfig) ?? "(default)")")
        }
        let parameters = spec.parameters
        if !parameters.isEmpty {
            out.append("Parameters (\(parameters.count)):")
            for p in parameters {
                let info = p.parameter!.required ? "required" : "default \(JSON.encode(p.parameter!.defaultValue))"
                out.append("  \(p.slug) (\(info)) at \(p.source)")
            }
        }
        let tasks = spec.tasks.filter { $0.parameter == nil }
        out.append("Tasks (\(tasks.count)):")
        for t in tasks {
            let i = graph.index[t.slug]!
            var inputs = graph.incoming[i].map { e in
                (e.key.map { "\($0)=" } ?? "after ") + e.upstream + (e.index.map { "[\($0)]" } ?? "") + (e.mapped ? " (mapped)" : "")
            }
            inputs += graph.constants[i].map { "\($0.key)=\(JSON.encode($0.value))\($0.mapped ? " (mapped)" : "")" }
            var options: [String] = []
            if t.maxRetries > 0 { options.append("max_retries=\(t.maxRetries) retry_delay=\(t.retryDelay)") }
            if let timeout = t.timeout { options.append("timeout=\(timeout)") }
            if t.trigger != .allSuccessful { options.append("trigger=\(t.trigger.name)") }
            if !t.skipOnUpstreamSkip { options.append("skip_on_upstream_skip=false") }
            if !t.tags.isEmpty { options.append("tags=\(t.tags.joined(separator: ","))") }
            if let n = t.nout { options.append("nout=\(n)") }
            out.append("  \(t.slug) at \(t.source)" + (inputs.isEmpty ? "" : " <- " + inputs.joined(separator: ", "))
                  + (options.isEmpty ? "" : "  [\(options.joined(separator: " "))]"))
        }
        let reference = graph.referenceTaskIndices.map { spec.tasks[$0].slug }
        out.append("Reference tasks: \(reference.joined(separator: ", "))\(spec.referenceTasks == nil ? " (the terminal tasks)" : "")")
        return out
    }

    static func describeConfig(_ v: Value) -> String {
        let type = v["type"]?.stringValue ?? "?"
        let fields = v.sortedEntries.filter { $0.key != "type" }.map { "\($0.key.stringValue ?? "?")=\(JSON.encode($0.value))" }
        return "\(type){\(fields.joined(separator: ", "))}"
    }
}
