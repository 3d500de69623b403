internal import CYAML

/// YAML through libyaml: documents become values. Scalars resolve by the YAML 1.2 core schema
/// (null, booleans, integers, floats; quoted scalars are always strings); anchors and aliases
/// are followed.
public enum YAML {
    /// A document libyaml could not read, or one dkrun cannot represent, with its position.
    public struct LoadError: CategorizedError {
        public var exitStatus: ExitStatus { .badInput }

        public let source: String
        public let line: Int
        public let column: Int
        public let problem: String
        public var description: String { "\(source):\(line):\(column): \(problem)" }
    }

    /// The most that aliases may repeat in one stream: each node an alias repeats counts 1,
    /// and a scalar also its length in bytes. A few anchors can otherwise stand for billions
    /// of nodes ("billion laughs"), which Lua tables and payloads would hold each one by one.
    public static let maxAliasExpansion = 1_000_000

    /// Loads a stream that holds one document (an empty stream is nil).
    public static func load(_ text: String, source: String, maxDepth: Int = Value.maxDepth) throws -> Value {
        let documents = try loadAll(text, source: source, maxDepth: maxDepth)
        guard documents.count <= 1 else {
            throw LoadError(source: source, line: 1, column: 1, problem: "expected one YAML document, found \(documents.count)")
        }
        return documents.first ?? .null
    }

    /// Loads every document of a stream. Sequences and mappings nest at most `maxDepth`
    /// levels in each document, counting those aliases bring; aliases repeat at most
    /// `maxAliasExpansion`. Both are checked while parsing, before anything is built.
    public static func loadAll(_ text: String, source: String, maxDepth: Int = Value.maxDepth) throws -> [Value] {
        let parser = Parser(text: text, source: source, maxDepth: maxDepth)
        return try parser.documents()
    }

    static let yaml11Booleans: Set<String> = ["y", "n", "yes", "no", "on", "off", "true", "false"]

    /// Resolves a plain scalar by the YAML 1.2 core schema.
    public static func resolvePlainScalar(_ s: String) -> Value {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        if let i = integer(s) { return .int(i) }
        if isFloat(s), let d = Double(s) { return .float(d) }
        return .text(s)
    }

    private static func integer(_ s: String) -> Int64? {
        if s.hasPrefix("0x") { return Int64(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("0o") { return Int64(s.dropFirst(2), radix: 8) }
        let digits = s.first == "-" || s.first == "+" ? s.dropFirst() : Substring(s)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(s)
    }

    private static func isFloat(_ s: String) -> Bool {
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var chars = Substring(s)
        if chars.first == "-" || chars.first == "+" { chars = chars.dropFirst() }
        let mantissaEnd = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) ?? chars.endIndex
        let mantissa = chars[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              parts.contains(where: { !$0.isEmpty }) else { return false }
        if mantissaEnd == chars.endIndex { return true }
        var exponent = chars[chars.index(after: mantissaEnd)...]
        if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Owns one libyaml parser and a copy of the input it reads (libyaml keeps a pointer to
    /// both, so both are allocated, not stored properties). It reads libyaml's events, so
    /// nothing is built beyond what the limits allow.
    private final class Parser {
        private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        private let input: UnsafeMutableBufferPointer<UInt8>
        private let source: String
        private let maxDepth: Int

        /// An anchored node: its value, its size (nodes, and scalars' bytes) and its height
        /// (how many levels of sequences and mappings it nests).
        private struct Anchored {
            let value: Value
            let size: Int
            let height: Int
        }
        private var anchors: [String: Anchored] = [:]
        /// The size of everything read so far, and of what aliases repeated.
        private var size = 0
        private var aliasSize = 0
        /// The deepest level of sequences and mappings reached, for anchored nodes' heights.
        private var deepest = 0
        /// Where a `ValueError` was found: its path is built while it unwinds.
        private var problemMark = yaml_mark_t()

        init(text: String, source: String, maxDepth: Int) {
            self.source = source
            self.maxDepth = maxDepth
            let bytes = Array(text.utf8)
            input = .allocate(capacity: max(bytes.count, 1))
            _ = input.initialize(from: bytes)
            yaml_parser_initialize(parser)
            yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        }

        deinit {
            yaml_parser_delete(parser)
            parser.deallocate()
            input.deallocate()
        }

        func documents() throws -> [Value] {
            var docs: [Value] = []
            while true {
                let event = try next()
                switch event.kind {
                case YAML_STREAM_END_EVENT: return docs
                case YAML_DOCUMENT_START_EVENT:
                    anchors = [:]
                    let root: Value
                    do {
                        root = try node(try next(), depth: 0)
                    } catch let error as ValueError {
                        throw LoadError(source: source, line: problemMark.line + 1, column: problemMark.column + 1,
                                        problem: error.message(root: ""))
                    }
                    _ = try next()  // DOCUMENT_END
                    docs.append(root)
                default: continue  // STREAM_START
                }
            }
        }

        /// The node that starts with `event`, inside `depth` sequences and mappings.
        private func node(_ event: Event, depth: Int) throws -> Value {
            let anchor = event.anchor
            let sizeBefore = size
            let deepestOutside = deepest
            if anchor != nil { deepest = depth }
            let value: Value
            switch event.kind {
            case YAML_SCALAR_EVENT:
                let data = event.raw.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
                let tag = data.tag.map { String(cString: $0) }
                value = try scalar(text, tag: tag, plain: data.plain_implicit != 0, event: event)
                size += 1 + data.length
            case YAML_SEQUENCE_START_EVENT:
                try enter(event, depth: depth)
                var items: [Value] = []
                while true {
                    let e = try next()
                    if e.kind == YAML_SEQUENCE_END_EVENT { break }
                    items.append(try ValueError.at(.index(items.count + 1)) { try node(e, depth: depth + 1) })
                }
                value = .array(items)
            case YAML_MAPPING_START_EVENT:
                try enter(event, depth: depth)
                var entries: [Value: Value] = [:]
                var merges: [(Value, Event)] = []
                while true {
                    let e = try next()
                    if e.kind == YAML_MAPPING_END_EVENT { break }
                    let key = try ValueError.at(.inKey) { try node(e, depth: depth + 1) }
                    let valueEvent = try next()
                    let v = try ValueError.at(.key(key)) { try node(valueEvent, depth: depth + 1) }
                    if key == .text("<<") {
                        merges.append((v, valueEvent))
                    } else {
                        guard entries.updateValue(v, forKey: key) == nil else {
                            throw error(at: e, "duplicate key \(JSON.encode(key))")
                        }
                    }
                }
                for (merged, at) in merges { try merge(merged, into: &entries, at: at) }
                value = .map(entries)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.raw.data.alias.anchor)
                guard let anchored = anchors[name] else { throw error(at: event, "unknown alias *\(name)") }
                guard depth + anchored.height <= maxDepth else {
                    problemMark = event.raw.start_mark
                    throw ValueError("(alias *\(name), \(anchored.height) levels itself) " + ValueError.tooDeep(limit: maxDepth).problem)
                }
                aliasSize += anchored.size
                guard aliasSize <= YAML.maxAliasExpansion else {
                    throw error(at: event, "aliases repeat more than \(YAML.maxAliasExpansion) nodes and bytes (the limit on alias expansion)")
                }
                size += anchored.size
                deepest = max(deepest, depth + anchored.height)
                value = anchored.value
            default:
                throw error(at: event, "unexpected YAML event")
            }
            if let anchor {
                anchors[anchor] = Anchored(value: value, size: size - sizeBefore, height: deepest - depth)
                deepest = max(deepest, deepestOutside)
            }
            return value
        }

        /// Checks that a sequence or mapping inside `depth` others is within the limit.
        private func enter(_ event: Event, depth: Int) throws {
            guard depth < maxDepth else {
                problemMark = event.raw.start_mark
                throw ValueError.tooDeep(limit: maxDepth)
            }
            size += 1
            deepest = max(deepest, depth + 1)
        }

        /// `<<: *base` merge keys: the mapping's own keys win, then earlier merged maps.
        private func merge(_ value: Value, into entries: inout [Value: Value], at event: Event) throws {
            let maps = value.arrayValue ?? [value]
            for m in maps {
                guard let m = m.mapValue else { throw error(at: event, "a merge key (<<) needs a mapping or a list of mappings") }
                for (k, v) in m where entries[k] == nil { entries[k] = v }
            }
        }

        private func scalar(_ text: String, tag: String?, plain: Bool, event: Event) throws -> Value {
            switch tag {
            case nil, "!": return plain ? YAML.resolvePlainScalar(text) : .text(text)
            case "tag:yaml.org,2002:str": return .text(text)
            case "tag:yaml.org,2002:null": return .null
            case "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
                let resolved = YAML.resolvePlainScalar(text)
                let expected = String(tag!.dropFirst("tag:yaml.org,2002:".count))
                let matches: Bool
                switch (expected, resolved) {
                case ("bool", .bool), ("int", .int), ("float", .float): matches = true
                case ("float", .int(let i)): return .float(Double(i))
                default: matches = false
                }
                guard matches else { throw error(at: event, "'\(text)' is not a valid !!\(expected)") }
                return resolved
            default:
                throw error(at: event, "unsupported tag \(tag!)")
            }
        }

        private func next() throws -> Event {
            let event = Event()
            guard yaml_parser_parse(parser, &event.raw) != 0 else {
                let p = parser.pointee
                let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
                let context = p.context.map { String(cString: $0) + ": " } ?? ""
                let mark = p.problem_mark
                throw LoadError(source: source, line: mark.line + 1, column: mark.column + 1, problem: context + problem)
            }
            return event
        }

        private func error(at event: Event, _ problem: String) -> LoadError {
            LoadError(source: source, line: event.raw.start_mark.line + 1, column: event.raw.start_mark.column + 1, problem: problem)
        }
    }

    /// One parser event, deleted when dropped.
    private final class Event {
        var raw = yaml_event_t()
        var kind: yaml_event_type_t { raw.type }
        deinit { yaml_event_delete(&raw) }

        /// The anchor a scalar, sequence or mapping is given (`&name`).
        var anchor: String? {
            let pointer: UnsafeMutablePointer<yaml_char_t>?
            switch kind {
            case YAML_SCALAR_EVENT: pointer = raw.data.scalar.anchor
            case YAML_SEQUENCE_START_EVENT: pointer = raw.data.sequence_start.anchor
            case YAML_MAPPING_START_EVENT: pointer = raw.data.mapping_start.anchor
            default: pointer = nil
            }
            return pointer.map { String(cString: $0) }
        }
    }
}

extension YAML {
    /// A value as a YAML document: block style, map keys in canonical order, and strings
    /// quoted whenever they would otherwise read back as something else ("true", "3", "").
    public static func dump(_ value: Value) throws -> String {
        let emitter = Emitter()
        try emitter.emit(value)
        return emitter.output
    }

    /// Several values as a multi-document stream.
    public static func dumpAll(_ values: [Value]) throws -> String {
        let emitter = Emitter()
        try emitter.emit(documents: values)
        return emitter.output
    }

    public struct DumpError: CategorizedError {
        public let description: String
        public var exitStatus: ExitStatus { .failure }
    }

    /// Owns one libyaml emitter, writing into a Swift buffer through its write handler.
    private final class Emitter {
        private let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
        private var buffer: [UInt8] = []

        init() {
            yaml_emitter_initialize(emitter)
            yaml_emitter_set_unicode(emitter, 1)
            yaml_emitter_set_width(emitter, -1)  // no folding of long lines (see scalarText)
            yaml_emitter_set_output(emitter, { context, data, size in
                let me = Unmanaged<Emitter>.fromOpaque(context!).takeUnretainedValue()
                me.buffer.append(contentsOf: UnsafeBufferPointer(start: data, count: size))
                return 1
            }, Unmanaged.passUnretained(self).toOpaque())
        }

        deinit {
            yaml_emitter_delete(emitter)
            emitter.deallocate()
        }

        var output: String { String(decoding: buffer, as: UTF8.self) }

        func emit(_ value: Value) throws { try emit(documents: [value]) }

        func emit(documents: [Value]) throws {
            var event = yaml_event_t()
            yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
            try send(&event)
            for (i, doc) in documents.enumerated() {
                yaml_document_start_event_initialize(&event, nil, nil, nil, i == 0 ? 1 : 0)
                try send(&event)
                try node(doc)
                yaml_document_end_event_initialize(&event, 1)
                try send(&event)
            }
            yaml_stream_end_event_initialize(&event)
            try send(&event)
        }

        private func node(_ value: Value) throws {
            var event = yaml_event_t()
            switch value {
            case .array(let items):
                yaml_sequence_start_event_initialize(&event, nil, nil, 1, YAML_ANY_SEQUENCE_STYLE)
                try send(&event)
                for item in items { try node(item) }
                yaml_sequence_end_event_initialize(&event)
                try send(&event)
            case .map:
                yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_ANY_MAPPING_STYLE)
                try send(&event)
                for (k, v) in value.sortedEntries {
                    try node(k)
                    try node(v)
                }
                yaml_mapping_end_event_initialize(&event)
                try send(&event)
            default:
                let (text, style) = scalarText(value)
                var bytes = Array(text.utf8)
                let plainOK: Int32 = style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? 0 : 1
                bytes.withUnsafeMutableBufferPointer { buf in
                    _ = yaml_scalar_event_initialize(&event, nil, nil, buf.baseAddress, Int32(buf.count), plainOK, 1, style)
                }
                try send(&event)
            }
        }

        private func scalarText(_ value: Value) -> (String, yaml_scalar_style_t) {
            switch value {
            case .null: return ("null", YAML_PLAIN_SCALAR_STYLE)
            case .bool(let b): return (b ? "true" : "false", YAML_PLAIN_SCALAR_STYLE)
            case .int(let i): return (String(i), YAML_PLAIN_SCALAR_STYLE)
            case .float(let d):
                if d.isNaN { return (".nan", YAML_PLAIN_SCALAR_STYLE) }
                if d.isInfinite { return (d > 0 ? ".inf" : "-.inf", YAML_PLAIN_SCALAR_STYLE) }
                return ("\(d)", YAML_PLAIN_SCALAR_STYLE)
            default:
                let s = value.stringValue ?? value.secretValue?.description ?? ""
                // A string that would resolve to another type is quoted, by YAML 1.2 or by the
                // YAML 1.1 that kubectl and PyYAML read ("y", "no", "on" are booleans there);
                // otherwise libyaml picks the style (it quotes what plain style cannot hold).
                // Line breaks are escaped (double quotes) rather than folded, so that a secret's
                // text stays in one piece for SecretMask to find.
                let ambiguous = YAML.resolvePlainScalar(s) != .text(s) || YAML.yaml11Booleans.contains(s.lowercased())
                    || s.contains(where: \.isNewline)
                return (s, ambiguous ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE)
            }
        }

        private func send(_ event: inout yaml_event_t) throws {
            guard yaml_emitter_emit(emitter, &event) != 0 else {
                throw DumpError(description: emitter.pointee.problem.map { String(cString: $0) } ?? "YAML emitter error")
            }
        }
    }
}
