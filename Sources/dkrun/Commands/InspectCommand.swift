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
        let hash = Payload.dagHash(spec)
        if json {
            var m = spec.descriptionValue.mapValue!
            m["dag_hash"] = .text(hash)
            print(JSON.encode(.map(m)))
            return
        }
        print("Flow '\(spec.name)' from \(flow.script)")
        print("  DAG hash: \(hash)")
        for key in FlowSpec.configurationKeys {
            print("  \(key): \(spec.configuration[key].map(Self.describeConfig) ?? "(default)")")
        }
        let parameters = spec.parameters
        if !parameters.isEmpty {
            print("Parameters (\(parameters.count)):")
            for p in parameters {
                let info = p.parameter!.required ? "required" : "default \(JSON.encode(p.parameter!.defaultValue))"
                print("  \(p.slug) (\(info)) at \(p.source)")
            }
        }
        let tasks = spec.tasks.filter { $0.parameter == nil }
        print("Tasks (\(tasks.count)):")
        for t in tasks {
            let i = loaded.graph.index[t.slug]!
            var inputs = loaded.graph.incoming[i].map { e in
                (e.key.map { "\($0)=" } ?? "after ") + e.upstream + (e.index.map { "[\($0)]" } ?? "") + (e.mapped ? " (mapped)" : "")
            }
            inputs += loaded.graph.constants[i].map { "\($0.key)=\(JSON.encode($0.value))\($0.mapped ? " (mapped)" : "")" }
            var options: [String] = []
            if t.maxRetries > 0 { options.append("max_retries=\(t.maxRetries) retry_delay=\(t.retryDelay)") }
            if let timeout = t.timeout { options.append("timeout=\(timeout)") }
            if t.trigger != .allSuccessful { options.append("trigger=\(t.trigger.name)") }
            if !t.skipOnUpstreamSkip { options.append("skip_on_upstream_skip=false") }
            if !t.tags.isEmpty { options.append("tags=\(t.tags.joined(separator: ","))") }
            if let n = t.nout { options.append("nout=\(n)") }
            print("  \(t.slug) at \(t.source)" + (inputs.isEmpty ? "" : " <- " + inputs.joined(separator: ", "))
                  + (options.isEmpty ? "" : "  [\(options.joined(separator: " "))]"))
        }
        let reference = loaded.graph.referenceTaskIndices.map { spec.tasks[$0].slug }
        print("Reference tasks: \(reference.joined(separator: ", "))\(spec.referenceTasks == nil ? " (the terminal tasks)" : "")")
    }

    static func describeConfig(_ v: Value) -> String {
        let type = v["type"]?.stringValue ?? "?"
        let fields = v.sortedEntries.filter { $0.key != "type" }.map { "\($0.key.stringValue ?? "?")=\(JSON.encode($0.value))" }
        return "\(type){\(fields.joined(separator: ", "))}"
    }
}
