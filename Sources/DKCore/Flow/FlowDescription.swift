/// Reading and writing flow descriptions: the tree the Lua API builds (`dk._describe`), the
/// payload carries, and the DAG hash covers. Its fields are listed in docs/payload.md.

/// A flow description that does not have the shape the Lua API produces.
public struct FlowDescriptionError: CategorizedError {
    public var exitStatus: ExitStatus { .badInput }

    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Typed access to one map of a description. Two implementations: over a `Value` (payloads)
/// and over a Lua table (a script just evaluated, read without building a `Value` tree).
public protocol DescriptionReader {
    var path: String { get }
    func string(_ key: String) throws -> String?
    func int(_ key: String) throws -> Int64?
    func number(_ key: String) throws -> Double?
    func bool(_ key: String) throws -> Bool?
    /// Any value (constants, defaults, configuration).
    func value(_ key: String) throws -> Value?
    func strings(_ key: String) throws -> [String]
    /// Reads each map of the array under `key` (absent or empty: none).
    func each<T>(_ key: String, _ body: (Self) throws -> T) throws -> [T]
}

extension DescriptionReader {
    func required(_ key: String) throws -> String {
        guard let s = try string(key) else { throw FlowDescriptionError("\(path).\(key): string expected, got nothing") }
        return s
    }
}

extension FlowSpec {
    public init(description v: Value) throws {
        try self.init(reading: ValueDescriptionReader(v, "flow"))
    }

    public init<R: DescriptionReader>(reading r: R) throws {
        name = try r.required("name")
        var interner = TaskSpec.Shared.Interner()
        tasks = try r.each("tasks") { try TaskSpec(reading: $0, interner: &interner) }
        // Sorted in place: a sorted copy of 100,000 edges was 26 MB more at the peak.
        edges = try r.each("edges") { e in
            EdgeSpec(upstream: try e.required("upstream"), downstream: try e.required("downstream"), key: try e.string("key"),
                     mapped: try e.bool("mapped") ?? false, flattened: try e.bool("flattened") ?? false, index: try e.int("index").map { try Numbers.integer(.int($0), "\(e.path).index", in: 1 ... Int.max) }, source: SourcePosition(try e.required("source")))
        }
        edges.sort { ($0.downstream, $0.key ?? "", $0.upstream, $0.index ?? 0) < ($1.downstream, $1.key ?? "", $1.upstream, $1.index ?? 0) }
        constants = try r.each("constants") { c in
            ConstantSpec(task: try c.required("task"), key: try c.required("key"), value: try c.value("value") ?? .null,
                         mapped: try c.bool("mapped") ?? false)
        }
        constants.sort { ($0.task, $0.key) < ($1.task, $1.key) }
        referenceTasks = try r.value("reference_tasks") == nil ? nil : try r.strings("reference_tasks")
        limits = try Self.limits(try r.value("limits"), "flow '\(name)' limits")
        configuration = [:]
        for key in FlowSpec.configurationKeys {
            let object = try r.value(key)
            if let (place, names) = object?.firstSecret(path: key) {
                throw FlowDescriptionError("flow '\(name)': \(place) holds secret '\(names[0])' (read with dk.secrets.get at the top "
                    + "level): a flow's configuration goes in clear into its payload and its Kubernetes objects; read the secret "
                    + "in the task that needs it (on Kubernetes, name it in the run's secrets = { ... })")
            }
            configuration[key] = object
        }
        if let r = configuration["result"] {
            let location = try ResultLocation(value: r, path: "flow.result")
            TaskSpec.changeAll(&tasks) { $0.flowResult = location }
        }
    }

    /// Tag concurrency limits (`limits = { database = 2 }`, `--limit database=2`): each a
    /// positive integer. `field` names them for messages.
    public static func limits(_ v: Value?, _ field: String) throws -> [String: Int] {
        guard let v, !v.isNull else { return [:] }
        guard v.mapValue != nil || v.arrayValue?.isEmpty == true else { throw FlowDescriptionError("\(field): a table of tags and numbers expected, got \(v.typeNameWithArticle)") }
        var out: [String: Int] = [:]
        for (k, n) in v.sortedEntries {
            guard let tag = k.stringValue, !tag.isEmpty else { throw FlowDescriptionError("\(field): tags must be strings, got \(JSON.encode(k))") }
            out[tag] = try Numbers.integer(n, "\(field).\(tag)", in: 1 ... Int(Int32.max))
        }
        return out
    }

    /// The canonical description as a value (for JSON output and tests).
    public var descriptionValue: Value {
        // The bytes are the one definition of the description; the value is read back from them.
        try! MessagePack.decode(encodedDescription())
    }

    /// The canonical MessagePack encoding of the description, written directly (a flow of
    /// 100,000 tasks must serialise in well under a second). Each map's keys are written in
    /// canonical order (shorter first, then bytewise: see `MessagePack`), which a test checks
    /// against the generic encoder.
    public func encodedDescription() -> [UInt8] {
        var w = MessagePack.Writer()
        w.mapHeader(count: 4 + configuration.count + (referenceTasks == nil ? 0 : 1) + (limits.isEmpty ? 0 : 1))
        w.key("name"); w.string(name)
        w.key("edges"); w.arrayHeader(count: edges.count)
        for e in edges {
            w.mapHeader(count: 4 + (e.key == nil ? 0 : 1) + (e.index == nil ? 0 : 1) + (e.flattened ? 1 : 0))
            if let k = e.key { w.key("key"); w.string(k) }
            if let i = e.index { w.key("index"); w.int(Int64(i)) }
            w.key("mapped"); w.bool(e.mapped)
            w.key("source"); w.string(e.source.description)
            w.key("upstream"); w.string(e.upstream)
            if e.flattened { w.key("flattened"); w.bool(true) }
            w.key("downstream"); w.string(e.downstream)
        }
        w.key("tasks"); w.arrayHeader(count: tasks.count)
        for t in tasks { t.write(to: &w) }
        if !limits.isEmpty {
            w.key("limits")
            w.value(Value(textKeys: limits.mapValues { Value.int(Int64($0)) }))
        }
        if let c = configuration["result"] { w.key("result"); w.value(c) }
        if let c = configuration["storage"] { w.key("storage"); w.value(c) }
        if let c = configuration["executor"] { w.key("executor"); w.value(c) }
        w.key("constants"); w.arrayHeader(count: constants.count)
        for c in constants {
            w.mapHeader(count: 4)
            w.key("key"); w.string(c.key)
            w.key("task"); w.string(c.task)
            w.key("value"); w.value(c.value)
            w.key("mapped"); w.bool(c.mapped)
        }
        if let c = configuration["run_config"] { w.key("run_config"); w.value(c) }
        if let c = configuration["environment"] { w.key("environment"); w.value(c) }
        if let r = referenceTasks {
            w.key("reference_tasks"); w.arrayHeader(count: r.count)
            for slug in r { w.string(slug) }
        }
        return w.bytes
    }
}

extension TaskSpec {
    /// - Parameter interner: shares one `Shared` among the task's copies read before.
    init<R: DescriptionReader>(reading r: R, interner: inout Shared.Interner) throws {
        let slug = try r.required("slug")
        var s = Shared(name: try r.required("name"))
        let source = SourcePosition(try r.required("source"))
        s.argumentNames = try r.strings("params")
        s.isVararg = try r.bool("vararg") ?? false
        s.maxRetries = Int(try r.int("max_retries") ?? 0)
        // Seconds that runners and workers wait on, from a script or a payload: checked here, for both.
        let task = "task '\(slug)' (\(source))"
        s.retryDelay = try Numbers.seconds(.float(try r.number("retry_delay") ?? 0), "\(task) retry_delay")
        s.timeout = try r.number("timeout").map { try Numbers.seconds(.float($0), "\(task) timeout", positive: true) }
        if let t = try r.value("trigger") {
            guard let name = t["name"]?.stringValue,
                  let trigger = Trigger(name: name, atLeast: t["at_least"]?.numberValue, atMost: t["at_most"]?.numberValue)
            else { throw FlowDescriptionError("\(r.path).trigger: unknown trigger \(JSON.encode(t))") }
            s.trigger = trigger
        }
        s.skipOnUpstreamSkip = try r.bool("skip_on_upstream_skip") ?? true
        s.tags = try r.strings("tags")
        s.nout = try r.int("nout").map(Int.init)
        s.checkpoint = try r.bool("checkpoint")
        s.result = try r.value("result").map { try ResultLocation(value: $0, path: "\(r.path).result") }
        s.target = try r.string("target")
        s.cacheFor = try r.number("cache_for").map { try Numbers.seconds(.float($0), "\(task) cache_for", positive: true) }
        s.cacheKey = try r.string("cache_key")
        s.cacheValidator = try r.value("cache_validator").map { try CacheValidator(value: $0, path: "\(r.path).cache_validator") }
        s.taskRunName = try r.string("task_run_name")
        s.hasStateHandlers = try r.bool("state_handlers") ?? false
        s.resources = try TaskResources.read(option: try r.value("resources"), tags: s.tags, task: task)
        s.priority = try r.value("priority").map { try Numbers.integer($0, "\(task) priority", in: Int(Int32.min) ... Int(Int32.max)) } ?? 0
        s.fuses = try r.bool("fuse") ?? true
        if try r.string("kind") == "parameter" {
            s.parameter = ParameterSpec(defaultValue: try r.value("default") ?? .null, required: try r.bool("required") ?? false)
        }
        self.init(slug: slug, source: source, box: interner.box(s))
    }

    /// Writes the task's map, keys in canonical order.
    func write(to w: inout MessagePack.Writer) {
        let results = [result != nil, target != nil, cacheFor != nil, cacheKey != nil, cacheValidator != nil].filter { $0 }.count
        w.mapHeader(count: 10 + (parameter == nil ? 0 : 3) + (nout == nil ? 0 : 1) + (timeout == nil ? 0 : 1)
                    + (checkpoint == nil ? 0 : 1) + (taskRunName == nil ? 0 : 1) + (hasStateHandlers ? 1 : 0) + results
                    + (resources.isEmpty ? 0 : 1) + (priority == 0 ? 0 : 1) + (fuses ? 0 : 1))
        if !fuses { w.key("fuse"); w.bool(false) }
        if parameter != nil { w.key("kind"); w.string("parameter") }
        w.key("name"); w.string(name)
        if let n = nout { w.key("nout"); w.int(Int64(n)) }
        w.key("slug"); w.string(slug)
        w.key("tags"); w.arrayHeader(count: tags.count)
        for tag in tags { w.string(tag) }
        w.key("params"); w.arrayHeader(count: argumentNames.count)
        for p in argumentNames { w.string(p) }
        if let r = result { w.key("result"); w.value(r.value) }
        w.key("source"); w.string(source.description)
        if let t = target { w.key("target"); w.string(t) }
        w.key("vararg"); w.bool(isVararg)
        if let p = parameter { w.key("default"); w.value(p.defaultValue) }
        if let t = timeout { w.key("timeout"); w.float(t) }
        w.key("trigger"); trigger.write(to: &w)
        if priority != 0 { w.key("priority"); w.int(Int64(priority)) }
        if let p = parameter { w.key("required"); w.bool(p.required) }
        if let c = cacheFor { w.key("cache_for"); w.float(c) }
        if let k = cacheKey { w.key("cache_key"); w.string(k) }
        if !resources.isEmpty { w.key("resources"); w.value(Value(textKeys: resources.mapValues(Value.float))) }
        if let c = checkpoint { w.key("checkpoint"); w.bool(c) }
        w.key("max_retries"); w.int(Int64(maxRetries))
        w.key("retry_delay"); w.float(retryDelay)
        if let n = taskRunName { w.key("task_run_name"); w.string(n) }
        if hasStateHandlers { w.key("state_handlers"); w.bool(true) }
        if let v = cacheValidator { w.key("cache_validator"); w.value(v.value) }
        w.key("skip_on_upstream_skip"); w.bool(skipOnUpstreamSkip)
    }
}

/// A `DescriptionReader` over a `Value` map.
struct ValueDescriptionReader: DescriptionReader {
    let v: Value
    let path: String
    init(_ v: Value, _ path: String) { self.v = v; self.path = path }

    private func typed<T>(_ key: String, _ expected: String, _ get: (Value) -> T?) throws -> T? {
        guard let x = v[key], !x.isNull else { return nil }
        guard let t = get(x) else { throw FlowDescriptionError("\(path).\(key): \(expected) expected, got \(x.typeName)") }
        return t
    }

    func string(_ key: String) throws -> String? { try typed(key, "string") { $0.stringValue } }
    func int(_ key: String) throws -> Int64? { try typed(key, "integer") { $0.intValue } }
    func number(_ key: String) throws -> Double? { try typed(key, "number") { $0.numberValue } }
    func bool(_ key: String) throws -> Bool? { try typed(key, "boolean") { $0.boolValue } }
    func value(_ key: String) throws -> Value? { v[key] }

    private func items(_ key: String) throws -> [Value] {
        try typed(key, "array") { x in x.arrayValue ?? (x.mapValue?.isEmpty == true ? [] : nil) } ?? []
    }

    func strings(_ key: String) throws -> [String] {
        try items(key).map { x in
            guard let s = x.stringValue else { throw FlowDescriptionError("\(path).\(key): strings expected, got \(x.typeName)") }
            return s
        }
    }

    func each<T>(_ key: String, _ body: (ValueDescriptionReader) throws -> T) throws -> [T] {
        try items(key).enumerated().map { try body(ValueDescriptionReader($1, "\(path).\(key)[\($0 + 1)]")) }
    }
}
