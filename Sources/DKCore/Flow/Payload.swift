/// What a worker needs to run any task of a flow, and nothing from the file system: the
/// flow's description, the parameter values, and the source of the script and of every
/// module it required (and every file it read while building the flow). Deterministic: the
/// same script and parameters give the same bytes. The format is in docs/payload.md.
public struct Payload: Sendable, Equatable {
    public static let format = "dkrun-payload"
    /// 2: `content_hash` covers every field, and strings may be secret texts (version 1
    /// had the DAG hash alone and no secret texts). 3: the format is version 2's, but workers
    /// of version 3 take a mapped upstream child by child (depth-first maps), which a worker of
    /// version 2 cannot read; the version is what driver and workers compare.
    public static let version: Int64 = 4

    public var flow: FlowSpec
    public var parameters: [String: Value]
    public var script: SourceFile
    /// Required modules by module name.
    public var modules: [String: SourceFile]
    /// Files read while the flow was built (spec YAML files, for example) by the path used.
    public var files: [String: [UInt8]]

    public init(flow: FlowSpec, parameters: [String: Value], script: SourceFile,
                modules: [String: SourceFile], files: [String: [UInt8]]) {
        self.flow = flow
        self.parameters = parameters
        self.script = script
        self.modules = modules
        self.files = files
    }

    /// The hash of a flow description: what a worker that rebuilds the flow must reproduce.
    public static func dagHash(_ flow: FlowSpec) -> String {
        Digests.sha256Hex(flow.encodedDescription())
    }

    /// The payload's bytes.
    public func encoded() -> [UInt8] { encodedWithDAGHash().bytes }

    /// The payload's bytes and its DAG hash. The flow description is encoded once: the DAG
    /// hash covers those same bytes, and the payload map embeds them. The content hash covers
    /// the map of every other field, encoded as the whole is.
    public func encodedWithDAGHash() -> (bytes: [UInt8], dagHash: String) {
        let flowBytes = flow.encodedDescription()
        let dagHash = Digests.sha256Hex(flowBytes)
        let named: [(String, [UInt8])] = [
            ("format", MessagePack.encode(.text(Payload.format))),
            ("version", MessagePack.encode(.int(Payload.version))),
            ("flow", flowBytes),
            ("dag_hash", MessagePack.encode(.text(dagHash))),
            ("parameters", MessagePack.encode(Value(textKeys: parameters))),
            ("script", MessagePack.encode(script.value)),
            ("modules", MessagePack.encode(Value(textKeys: modules.mapValues(\.value)))),
            ("files", MessagePack.encode(Value(textKeys: files.mapValues(Value.string)))),
        ]
        var fields = named.map { (key: MessagePack.encode(.text($0.0)), value: $0.1) }
        let contentHash = Digests.sha256Hex(concatenating: MessagePack.mapParts(encodedEntries: fields))
        fields.append((MessagePack.encode(.text("content_hash")), MessagePack.encode(.text(contentHash))))
        return (MessagePack.encodeMap(encodedEntries: fields), dagHash)
    }

    /// Reads a payload, checking its size, format, version and hashes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count <= SizeLimit.payload.bytes else { throw PayloadError("payload of \(SizeLimit.payload.refusal(bytes.count))") }
        let v: Value
        do { v = try MessagePack.decode(bytes) } catch { throw PayloadError("not a dkrun payload: \(error)") }
        guard v["format"]?.stringValue == Payload.format else { throw PayloadError("not a dkrun payload (no format marker)") }
        guard let version = v["version"]?.intValue, version == Payload.version else {
            throw PayloadError("payload version \(v["version"].map(JSON.encode) ?? "?") is not supported by this dkrun (it reads version \(Payload.version))")
        }
        var covered = v.mapValue ?? [:]
        covered["content_hash"] = nil
        guard v["content_hash"]?.stringValue == Digests.sha256Hex(MessagePack.encode(.map(covered))) else {
            throw PayloadError("payload is corrupt: its content hash does not match its fields")
        }
        guard let flowValue = v["flow"], let script = v["script"].flatMap(SourceFile.init(value:)) else {
            throw PayloadError("payload lacks its flow or script")
        }
        flow = try FlowSpec(description: flowValue)
        guard v["dag_hash"]?.stringValue == Payload.dagHash(flow) else { throw PayloadError("payload is corrupt: its DAG hash does not match its flow") }
        parameters = try Self.textKeyed(v, "parameters", "any value") { $0 }
        self.script = script
        modules = try Self.textKeyed(v, "modules", "{chunkname, source}", SourceFile.init(value:))
        files = try Self.textKeyed(v, "files", "bytes") { if case .string(let bytes) = $0 { bytes } else { nil } }
    }

    /// A map of the payload by UTF-8 text key, each entry as `entry` reads it. Keys that are
    /// not UTF-8, or that are one text as Swift compares strings ("é" composed and not),
    /// would lose entries: they are refused, as is an entry `entry` cannot read.
    private static func textKeyed<T>(_ payload: Value, _ field: String, _ expected: String,
                                     _ entry: (Value) -> T?) throws -> [String: T] {
        guard let map = payload[field], map.mapValue != nil else { throw PayloadError("payload's \(field) is not a map") }
        var out: [String: T] = [:]
        for (k, v) in map.sortedEntries {  // in order, so that a message names the same key each time
            guard case .string(let bytes) = k, let key = String(validating: bytes, as: UTF8.self) else {
                throw PayloadError("payload's \(field): a key is not UTF-8 text (\(Self.shown(k)))")
            }
            guard let value = entry(v) else { throw PayloadError("payload's \(field) '\(key)': \(expected) expected") }
            guard out.updateValue(value, forKey: key) == nil else {
                throw PayloadError("payload's \(field): two keys are the text '\(key)'")
            }
        }
        return out
    }

    /// A key as a message shows it: its bytes in hex (the first 32), or its type.
    private static func shown(_ key: Value) -> String {
        guard case .string(let bytes) = key else { return key.typeNameWithArticle }
        let hex = bytes.prefix(32).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return "bytes " + hex.joined(separator: " ") + (bytes.count > 32 ? " ..." : "")
    }
}

/// A Lua source and the chunk name it is loaded under (its path, as messages show it).
public struct SourceFile: Sendable, Equatable {
    public var chunkName: String
    public var text: [UInt8]
    public init(chunkName: String, text: [UInt8]) { self.chunkName = chunkName; self.text = text }

    var value: Value { .map(["chunkname": .text(chunkName), "source": .string(text)]) }
    init?(value: Value) {
        guard let name = value["chunkname"]?.stringValue, case .string(let text)? = value["source"] else { return nil }
        self.init(chunkName: name, text: text)
    }
}

public struct PayloadError: CategorizedError, Equatable {
    public var exitStatus: ExitStatus { .badInput }

    public let description: String
    public init(_ description: String) { self.description = description }
}
