/// What `dk.context` holds while a task runs: Prefect 1's context fields, by Prefect's names
/// (docs/lua-api.md lists them), and the task run's name from its `task_run_name` template.
extension FlowRunContext {
    /// The fields that are the same for every task of the run.
    public var fields: [String: Value] {
        func day(_ offset: Double) -> String { String(Clock.iso8601(scheduledStart + offset * 86_400).prefix(10)) }
        func nodash(_ text: String) -> Value { .text(text.filter { $0 != "-" }) }
        let (today, yesterday, tomorrow) = (day(0), day(-1), day(1))
        return [
            "flow": .text(flowName), "flow_name": .text(flowName),
            "flow_run_id": .text(id), "flow_run_name": .text(id),
            "scheduled_start_time": .text(Clock.iso8601(scheduledStart)), "date": .text(Clock.iso8601(scheduledStart)),
            "today": .text(today), "yesterday": .text(yesterday), "tomorrow": .text(tomorrow),
            "today_nodash": nodash(today), "yesterday_nodash": nodash(yesterday), "tomorrow_nodash": nodash(tomorrow),
            "parameters": Value(textKeys: parameters),
        ]
    }
}

/// A `task_run_name` or `target` template that names a field nothing provides.
public struct TaskRunNameError: Error, CustomStringConvertible {
    public let description: String
}

extension TaskCall {
    /// The fields of this call (`dk.context` shows them over the run's `fields`).
    public func contextFields() -> [String: Value] {
        var f: [String: Value] = [
            "task": .text(task.name), "task_name": .text(task.name), "task_slug": .text(task.slug),
            "task_full_name": .text(id.mapIndex.map { "\(task.name)[\($0)]" } ?? task.name),
            "task_tags": .array(task.tags.map(Value.text)),
            "task_run_id": .text("\(run.id)/\(id)"),
            "attempt": .int(Int64(attempt)), "task_run_count": .int(Int64(attempt)),
            "loop_count": .int(Int64(loopCount)), "task_loop_count": .int(Int64(loopCount)),
        ]
        if let i = id.mapIndex { f["map_index"] = .int(Int64(i)) }
        if run.approved.contains(task.slug) { f["resume"] = .bool(true) }
        if let r = loopResult { f["loop_result"] = r; f["task_loop_result"] = r }
        return f
    }

    /// The task run's name: `task_run_name` with each `{field}` replaced by the argument, the
    /// context field or the parameter of that name (in that order, as Prefect 1 looks them
    /// up); `{{` and `}}` are braces. nil when the task has no template.
    public func runName(context: [String: Value]) throws -> String? {
        try task.taskRunName.map { try format($0, option: "task_run_name", context: context) }
    }

    /// The task's `target`, its fields filled in as Prefect 1 formats targets: as
    /// `task_run_name`, and `{map_index}` is "None" for a task that is not mapped.
    public func target() throws -> String? {
        guard let template = task.target else { return nil }
        var context = contextFields().merging(run.fields) { mine, _ in mine }
        if context["map_index"] == nil { context["map_index"] = "None" }
        return try format(template, option: "target", context: context)
    }

    /// `template` with each `{field}` replaced by the argument, the context field or the
    /// parameter of that name (in that order, as Prefect 1 looks them up); `{{` and `}}` are
    /// braces. `option` names the template in errors.
    private func format(_ template: String, option: String, context: [String: Value]) throws -> String {
        var out = ""
        var rest = Substring(template)
        while let c = rest.first {
            rest = rest.dropFirst()
            if (c == "{" || c == "}") && rest.first == c {
                out.append(c)
                rest = rest.dropFirst()
            } else if c == "{", let close = rest.firstIndex(of: "}") {
                let name = String(rest[..<close])
                guard let v = arguments[name] ?? context[name] ?? run.parameters[name] else {
                    throw TaskRunNameError(description: "\(option) \"\(template)\": no argument, context field or parameter '\(name)'")
                }
                out += v.stringValue ?? v.secretValue?.description ?? JSON.encode(v)
                rest = rest[rest.index(after: close)...]
            } else if c == "{" || c == "}" {
                // As Python's str.format: a brace is doubled, or it opens a field.
                throw TaskRunNameError(description: "\(option) \"\(template)\": a single '\(c)' (write '\(c)\(c)' for the brace itself)")
            } else {
                out.append(c)
            }
        }
        return out
    }
}
