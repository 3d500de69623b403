import DKCore

/// Writes a `RunReport` as one self-contained HTML page: the page's CSS and script inline
/// (Page/report.css, Page/report.js), the report as JSON in a `<script type="application/json">`
/// that the script reads and shows, every text set as text (never parsed as HTML), so that
/// nothing a task names or logs can run. No network: it opens from disk.
public struct ReportPage {
    /// The task graph: Graphviz's SVG of it (shown as an image, which runs nothing), or why
    /// there is none.
    public enum Graph: Sendable {
        case svg([UInt8])
        case omitted(String)
    }

    public let report: RunReport
    public let graph: Graph

    public init(report: RunReport, graph: Graph) {
        self.report = report
        self.graph = graph
    }

    public func html() -> [UInt8] {
        var out = Array("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
            <title>dkrun report</title>
            <style>

            """.utf8)
        out += PackageResources.report_css
        out += Array("</style>\n</head>\n<body>\n".utf8)
        out += PackageResources.report_html
        out += Array("<script type=\"application/json\" id=\"report-data\">".utf8)
        out += Self.scriptSafe(Array(JSON.encode(SecretMask.apply(data)).utf8))
        out += Array("</script>\n<script>\n".utf8)
        out += PackageResources.report_js
        out += Array("</script>\n</body>\n</html>\n".utf8)
        return out
    }

    /// JSON that cannot end the script element it is in, nor be read as markup: `<`, `>` and
    /// `&` as \u escapes (they occur only inside JSON strings, so this keeps the JSON), and
    /// U+2028 and U+2029, which older JavaScript parsers take for line ends.
    static func scriptSafe(_ json: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(json.count + json.count / 16)
        var i = 0
        while i < json.count {
            let b = json[i]
            switch b {
            case UInt8(ascii: "<"): out += Array("\\u003c".utf8)
            case UInt8(ascii: ">"): out += Array("\\u003e".utf8)
            case UInt8(ascii: "&"): out += Array("\\u0026".utf8)
            case 0xE2 where i + 2 < json.count && json[i + 1] == 0x80 && (json[i + 2] == 0xA8 || json[i + 2] == 0xA9):
                out += Array((json[i + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8)
                i += 2
            default: out.append(b)
            }
            i += 1
        }
        return out
    }

    private static func text(_ s: String?) -> Value { s.map(Value.text) ?? .null }

    /// What the script reads; rows as arrays to keep 10,000 task runs small (their columns
    /// are named in report.js).
    var data: Value {
        let r = report.run
        // Times in seconds since the run started, to the microsecond (an attempt's end is its
        // start and its measured duration).
        let origin = r.started ?? report.attempts.map(\.start).min() ?? report.logs.first?.time ?? 0
        func offset(_ t: Double?) -> Value {
            t.map { Value.float((($0 - origin) * 1e6).rounded() / 1e6) } ?? .null
        }
        let states = StateKind.allCases
        let stateIndex = Dictionary(uniqueKeysWithValues: states.enumerated().map { ($1, Int64($0)) })
        var counts: [String: Value] = [:]
        for (k, n) in r.counts { counts[k.rawValue] = .int(Int64(n)) }
        let end = r.ended ?? ([report.attempts.compactMap(\.end).max(), report.logs.last?.time].compactMap { $0 }.max())
        let run = Value(textKeys: [
            "id": Self.text(r.id), "flow": Self.text(r.flow), "executor": Self.text(r.executor), "placement": Self.text(r.placement),
            "parameters": r.parameters ?? .null, "started": r.started.map { Value.text(Clock.iso8601($0)) } ?? .null,
            "duration": offset(end), "finished": .bool(r.ended != nil), "state": Self.text(r.state?.rawValue),
            "message": Self.text(r.message), "counts": Value(textKeys: counts),
        ])
        let tasks: [Value] = report.taskRuns.map { t in
            [.text(t.id.task), .int(Int64(t.id.mapIndex ?? -1)), .int(stateIndex[t.state]!), .int(Int64(t.attempts)),
             t.duration.map { Value.float(($0 * 1e6).rounded() / 1e6) } ?? .null, Self.text(t.worker), Self.text(t.message)]
        }
        let attempts: [Value] = report.attempts.map { a in
            [.int(Int64(a.taskRun)), .int(Int64(a.number)), offset(a.start), offset(a.end), .int(stateIndex[a.state]!), .int(Int64(a.lane))]
        }
        let logs: [Value] = report.logs.map { l in
            [.int(Int64(l.taskRun ?? -1)), offset(l.time), .text(l.level.name), .text(l.message)]
        }
        let graph: Value
        switch self.graph {
        case .svg(let bytes): graph = Value(textKeys: ["svg": .text(Base64.encode(bytes))])
        case .omitted(let why): graph = Value(textKeys: ["note": .text(why)])
        }
        return Value(textKeys: [
            "run": run, "graph": graph,
            "states": .array(states.map { .text($0.rawValue) }), "colours": .array(states.map { .text(StatePalette.colour($0)) }),
            "lanes": .array(report.lanes.map(Value.text)), "tasks": .array(tasks), "attempts": .array(attempts), "logs": .array(logs),
        ])
    }
}
