import DKCore
import DKReport

/// A flow's graph as Graphviz dot or Mermaid text, tasks coloured by state when known.
struct GraphRenderer {
    let graph: FlowGraph
    let states: [String: StateKind]

    private func label(_ t: TaskSpec) -> String {
        var text = t.slug
        if let s = states[t.slug] { text += "\n" + s.rawValue }
        return text
    }

    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n") + "\""
    }

    private func edgeLabel(_ e: EdgeSpec) -> String? {
        guard e.key != nil || e.mapped else { return nil }
        return (e.key ?? "") + (e.index.map { "[\($0)]" } ?? "") + (e.mapped ? " (mapped)" : "")
    }

    func dot() -> String {
        var out = "digraph \(Self.quoted(graph.spec.name)) {\n"
        out += "  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=10];\n"
        for (i, t) in graph.spec.tasks.enumerated() {
            var attrs = ["label=\(Self.quoted(label(t)))"]
            if t.parameter != nil { attrs.append("shape=ellipse") }
            if graph.isMapped(i) { attrs.append("peripheries=2") }
            if let s = states[t.slug] { attrs.append("fillcolor=\"\(StatePalette.colour(s))\"") }
            out += "  \(Self.quoted(t.slug)) [\(attrs.joined(separator: ", "))];\n"
        }
        for e in graph.spec.edges {
            var attrs: [String] = []
            if let l = edgeLabel(e) { attrs.append("label=\(Self.quoted(l))") }
            if e.mapped { attrs.append("style=dashed") }
            out += "  \(Self.quoted(e.upstream)) -> \(Self.quoted(e.downstream))\(attrs.isEmpty ? "" : " [\(attrs.joined(separator: ", "))]");\n"
        }
        return out + "}\n"
    }

    /// The graph drawn by Graphviz's `dot` as `format` ("svg", "png").
    func image(_ format: String) throws -> [UInt8] {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(["dot", "-T\(format)"], input: Array(dot().utf8))
        } catch {
            throw CommandError.failure("cannot run Graphviz's dot (install the graphviz package): \(error)")
        }
        guard result.status == 0 else {
            throw CommandError.failure("dot failed: \(String(decoding: result.stderr, as: UTF8.self))")
        }
        return result.stdout
    }

    func mermaid() -> String {
        var out = "flowchart LR\n"
        for (i, t) in graph.spec.tasks.enumerated() {
            let text = label(t).replacingAll("\"", with: "#quot;").replacingAll("\n", with: "<br/>")
            out += t.parameter != nil ? "  t\(i)([\"\(text)\"])\n" : "  t\(i)[\"\(text)\"]\n"
        }
        for e in graph.spec.edges {
            let u = graph.index[e.upstream]!, d = graph.index[e.downstream]!
            let arrow = e.mapped ? "-.->" : "-->"
            out += "  t\(u) \(arrow)\(edgeLabel(e).map { "|\"\($0)\"|" } ?? "") t\(d)\n"
        }
        let used = Set(states.values)
        for s in StateKind.allCases where used.contains(s) {
            out += "  classDef \(s.rawValue) fill:\(StatePalette.colour(s))\n"
        }
        for (i, t) in graph.spec.tasks.enumerated() {
            if let s = states[t.slug] { out += "  class t\(i) \(s.rawValue)\n" }
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
