import ArgumentParser
import DKCore
import DKLua
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
            print(JSON.encode(SecretMask.apply(.map(m))))
            return
        }
        for line in Self.render(loaded.graph, source: flow.script, types: try loaded.host.configurationTypes()) {
            print(SecretMask.apply(line))
        }
    }

    /// The human-readable description `inspect` (and the REPL's :inspect) prints.
    /// - Parameter types: the configuration types, for what each field of the flow's objects does.
    static func render(_ graph: FlowGraph, source: String, types: [ConfigurationType]) -> [String] {
        let spec = graph.spec
        var out: [String] = []
        out.append("Flow '\(spec.name)' from \(source)")
        out.append("  DAG hash: \(Payload.dagHash(spec))")
        for key in FlowSpec.configurationKeys where key != "result" {
            guard let object = spec.configuration[key] else {
                out.append("  \(key): (default)")
                continue
            }
            out += describe(object, as: key, types: types).map { "  " + $0 }
        }
        out.append("  result: " + (spec.result.map(\.description) ?? "(default) \(ResultLocation.defaultLocation)"))
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
            if t.checkpoint == true { options.append("checkpoint") }
            if let r = t.result { options.append("result=\(r)") }
            if let target = t.target { options.append("target=\(target)") }
            if let c = t.cacheFor {
                options.append("cache_for=\(c)" + (t.cacheKey.map { " cache_key=\($0)" } ?? "")
                    + (t.cacheValidator.map { " cache_validator=\($0.value["name"]?.stringValue ?? "")" } ?? ""))
            }
            out.append("  \(t.slug) at \(t.source)" + (inputs.isEmpty ? "" : " <- " + inputs.joined(separator: ", "))
                  + (options.isEmpty ? "" : "  [\(options.joined(separator: " "))]"))
        }
        let reference = graph.referenceTaskIndices.map { spec.tasks[$0].slug }
        out.append("Reference tasks: \(reference.joined(separator: ", "))\(spec.referenceTasks == nil ? " (the terminal tasks)" : "")")
        return out
    }

    /// A configuration object held in the flow's field `key`: its type and what it makes of
    /// the flow, then each field it takes, with its value and what it does.
    static func describe(_ object: Value, as key: String, types: [ConfigurationType]) -> [String] {
        let name = object["type"]?.stringValue ?? "?"
        guard let type = types.first(where: { $0.name == name }) else { return ["\(key): \(name)"] }
        var out = ["\(key): \(name): \(type.about)"]
        for field in type.fields where field.refused == nil {
            guard let value = object[field.name] else {
                out.append("  \(field.name) (not set): \(field.does ?? "")")
                continue
            }
            if let nested = value["type"]?.stringValue, types.contains(where: { $0.name == nested }) {
                out += describe(value, as: field.name, types: types).map { "  " + $0 }  // LocalEnvironment's executor
            } else {
                out.append("  \(field.name) = \(literal(value)): \(field.does ?? "")")
            }
        }
        return out
    }

    /// A field's value as the flow wrote it, near enough: JSON, with `{}` for an empty table.
    private static func literal(_ v: Value) -> String {
        v.arrayValue?.isEmpty == true ? "{}" : JSON.encode(v)
    }
}
