/// The task graph of one flow, as the Lua API built it: what the payload carries and what the
/// runner executes. Tasks are identified by their slug, unique within the flow.
public struct FlowSpec: Sendable, Equatable {
    public var name: String
    public var tasks: [TaskSpec]
    public var edges: [EdgeSpec]
    public var constants: [ConstantSpec]
    /// The tasks whose states decide the flow's; nil means the terminal tasks.
    public var referenceTasks: [String]?
    /// Environment, run config, executor and storage, each a map with a "type" (or absent).
    public var configuration: [String: Value]

    public static let configurationKeys = ["environment", "run_config", "executor", "storage"]

    public var parameters: [TaskSpec] { tasks.filter { $0.parameter != nil } }

    public func task(_ slug: String) -> TaskSpec? { tasks.first { $0.slug == slug } }
}

/// One task of a flow. Parameters are tasks too: their result is the parameter's value.
public struct TaskSpec: Sendable, Equatable {
    public var slug: String
    public var name: String
    /// Where the task was created (`file:line`), for messages.
    public var source: String
    /// The names of the Lua function's parameters, in order.
    public var argumentNames: [String]
    public var isVararg: Bool
    public var maxRetries: Int
    public var retryDelay: Double
    public var timeout: Double?
    public var trigger: Trigger
    public var skipOnUpstreamSkip: Bool
    public var tags: [String]
    public var nout: Int?
    public var checkpoint: Bool?
    public var parameter: ParameterSpec?
}

public struct ParameterSpec: Sendable, Equatable {
    public var defaultValue: Value
    public var required: Bool
}

/// A dependency. With a key, the upstream result is passed as that argument (its `index`-th
/// element when the upstream has `nout`); mapped edges are iterated over.
public struct EdgeSpec: Sendable, Equatable {
    public var upstream: String
    public var downstream: String
    public var key: String?
    public var mapped: Bool
    public var index: Int?
    public var source: String
}

/// A constant argument of a task.
public struct ConstantSpec: Sendable, Equatable {
    public var task: String
    public var key: String
    public var value: Value
    public var mapped: Bool
}

/// A flow description that does not have the shape the Lua API produces.
public struct FlowDescriptionError: Error, CustomStringConvertible {
    public let description: String
}

extension FlowSpec {
    /// Reads the description the Lua API builds (see docs/payload.md for its fields).
    public init(description v: Value) throws {
        let r = FieldReader(v, "flow")
        name = try r.string("name")
        tasks = try r.array("tasks").enumerated().map { try TaskSpec(description: $1, at: "flow.tasks[\($0 + 1)]") }
        edges = try r.array("edges").enumerated().map { i, e in
            let r = FieldReader(e, "flow.edges[\(i + 1)]")
            return EdgeSpec(upstream: try r.string("upstream"), downstream: try r.string("downstream"),
                            key: try r.optionalString("key"), mapped: try r.bool("mapped", default: false),
                            index: try r.optionalInt("index").map(Int.init), source: try r.string("source"))
        }.sorted { ($0.downstream, $0.key ?? "", $0.upstream, $0.index ?? 0) < ($1.downstream, $1.key ?? "", $1.upstream, $1.index ?? 0) }
        constants = try r.array("constants").enumerated().map { i, c in
            let r = FieldReader(c, "flow.constants[\(i + 1)]")
            return ConstantSpec(task: try r.string("task"), key: try r.string("key"), value: c["value"] ?? .null,
                                mapped: try r.bool("mapped", default: false))
        }.sorted { ($0.task, $0.key) < ($1.task, $1.key) }
        referenceTasks = try v["reference_tasks"].map { _ in try r.array("reference_tasks").map { try FieldReader($0, "flow.reference_tasks").text() } }
        configuration = [:]
        for key in FlowSpec.configurationKeys { configuration[key] = v[key] }
    }

    /// The canonical description: what the payload stores and the DAG hash covers.
    public var descriptionValue: Value {
        var m: [Value: Value] = [
            "name": .text(name),
            "tasks": .array(tasks.map(\.descriptionValue)),
            "edges": .array(edges.map { e in
                var m: [Value: Value] = ["upstream": .text(e.upstream), "downstream": .text(e.downstream),
                                         "mapped": .bool(e.mapped), "source": .text(e.source)]
                if let k = e.key { m["key"] = .text(k) }
                if let i = e.index { m["index"] = .int(Int64(i)) }
                return .map(m)
            }),
            "constants": .array(constants.map { .map(["task": .text($0.task), "key": .text($0.key), "value": $0.value, "mapped": .bool($0.mapped)]) }),
        ]
        if let r = referenceTasks { m["reference_tasks"] = .array(r.map(Value.text)) }
        for (k, v) in configuration { m[.text(k)] = v }
        return .map(m)
    }
}

extension TaskSpec {
    init(description v: Value, at path: String) throws {
        let r = FieldReader(v, path)
        slug = try r.string("slug")
        name = try r.string("name")
        source = try r.string("source")
        argumentNames = try r.array("params").map { try FieldReader($0, path + ".params").text() }
        isVararg = try r.bool("vararg", default: false)
        maxRetries = Int(try r.optionalInt("max_retries") ?? 0)
        retryDelay = try r.optionalNumber("retry_delay") ?? 0
        timeout = try r.optionalNumber("timeout")
        let t = v["trigger"] ?? .map(["name": "all_successful"])
        let tr = FieldReader(t, path + ".trigger")
        guard let trigger = Trigger(name: try tr.string("name"), atLeast: try tr.optionalNumber("at_least"),
                                    atMost: try tr.optionalNumber("at_most")) else {
            throw FlowDescriptionError(description: "\(path).trigger: unknown trigger")
        }
        self.trigger = trigger
        skipOnUpstreamSkip = try r.bool("skip_on_upstream_skip", default: true)
        tags = try (v["tags"].map { _ in try r.array("tags") } ?? []).map { try FieldReader($0, path + ".tags").text() }
        nout = try r.optionalInt("nout").map(Int.init)
        checkpoint = try v["checkpoint"].map { _ in try r.bool("checkpoint", default: false) }
        if try r.optionalString("kind") == "parameter" {
            parameter = ParameterSpec(defaultValue: v["default"] ?? .null, required: try r.bool("required", default: false))
        }
    }

    var descriptionValue: Value {
        var m: [Value: Value] = [
            "slug": .text(slug), "name": .text(name), "source": .text(source),
            "params": .array(argumentNames.map(Value.text)), "vararg": .bool(isVararg),
            "max_retries": .int(Int64(maxRetries)), "retry_delay": .float(retryDelay),
            "trigger": trigger.value, "skip_on_upstream_skip": .bool(skipOnUpstreamSkip),
            "tags": .array(tags.map(Value.text)),
        ]
        if let t = timeout { m["timeout"] = .float(t) }
        if let n = nout { m["nout"] = .int(Int64(n)) }
        if let c = checkpoint { m["checkpoint"] = .bool(c) }
        if let p = parameter {
            m["kind"] = "parameter"
            m["default"] = p.defaultValue
            m["required"] = .bool(p.required)
        }
        return .map(m)
    }
}

/// Typed access to the fields of a description map, with errors that name the field.
struct FieldReader {
    let value: Value
    let path: String
    init(_ value: Value, _ path: String) { self.value = value; self.path = path }

    private func wrong(_ key: String, _ expected: String) -> FlowDescriptionError {
        FlowDescriptionError(description: "\(path).\(key): \(expected) expected, got \(value[key]?.typeName ?? "nothing")")
    }

    func text() throws -> String {
        guard let s = value.stringValue else { throw FlowDescriptionError(description: "\(path): string expected, got \(value.typeName)") }
        return s
    }
    func string(_ key: String) throws -> String {
        guard let s = value[key]?.stringValue else { throw wrong(key, "string") }
        return s
    }
    func optionalString(_ key: String) throws -> String? {
        guard let v = value[key], !v.isNull else { return nil }
        return try string(key)
    }
    func optionalInt(_ key: String) throws -> Int64? {
        guard let v = value[key], !v.isNull else { return nil }
        guard let i = v.intValue else { throw wrong(key, "integer") }
        return i
    }
    func optionalNumber(_ key: String) throws -> Double? {
        guard let v = value[key], !v.isNull else { return nil }
        guard let d = v.numberValue else { throw wrong(key, "number") }
        return d
    }
    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = value[key], !v.isNull else { return d }
        guard let b = v.boolValue else { throw wrong(key, "boolean") }
        return b
    }
    func array(_ key: String) throws -> [Value] {
        guard let v = value[key] else { return [] }
        if case .map(let m) = v, m.isEmpty { return [] }  // an empty Lua table
        guard let a = v.arrayValue else { throw wrong(key, "array") }
        return a
    }
}
