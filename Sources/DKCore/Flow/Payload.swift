/// What a worker needs to run any task of a flow, and nothing from the file system: the
/// flow's description, the parameter values, and the source of the script and of every
/// module it required (and every file it read while building the flow). Deterministic: the
/// same script and parameters give the same bytes. The format is in docs/payload.md.
public struct Payload: Sendable, Equatable {
    public static let format = "dkrun-payload"
    public static let version: Int64 = 2

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
        SHA256.hexDigest(flow.encodedDescription())
    }

    /// The payload's bytes.
    public func encoded() -> [UInt8] { encodedWithDAGHash().bytes }

    /// The payload's bytes and its DAG hash. The flow description is encoded once: the DAG
    /// hash covers those same bytes, and the payload map embeds them.
    public func encodedWithDAGHash() -> (bytes: [UInt8], dagHash: String) {
        let flowBytes = flow.encodedDescription()
        let dagHash = SHA256.hexDigest(flowBytes)
        let fields: [(String, [UInt8])] = [
            ("format", MessagePack.encode(.text(Payload.format))),
            ("version", MessagePack.encode(.int(Payload.version))),
            ("flow", flowBytes),
            ("dag_hash", MessagePack.encode(.text(dagHash))),
            ("parameters", MessagePack.encode(Value(textKeys: parameters))),
            ("script", MessagePack.encode(script.value)),
            ("modules", MessagePack.encode(Value(textKeys: modules.mapValues(\.value)))),
            ("files", MessagePack.encode(Value(textKeys: files.mapValues(Value.string)))),
        ]
        return (MessagePack.encodeMap(encodedEntries: fields.map { (MessagePack.encode(.text($0.0)), $0.1) }), dagHash)
    }

    /// Reads a payload, checking its format and version.
    public init(bytes: [UInt8]) throws {
        let v: Value
        do { v = try MessagePack.decode(bytes) } catch { throw PayloadError("not a dkrun payload: \(error)") }
        guard v["format"]?.stringValue == Payload.format else { throw PayloadError("not a dkrun payload (no format marker)") }
        guard let version = v["version"]?.intValue, version == Payload.version else {
            throw PayloadError("payload version \(v["version"].map(JSON.encode) ?? "?") is not supported by this dkrun (it reads version \(Payload.version))")
        }
        guard let flowValue = v["flow"], let script = v["script"].flatMap(SourceFile.init(value:)) else {
            throw PayloadError("payload lacks its flow or script")
        }
        flow = try FlowSpec(description: flowValue)
        guard v["dag_hash"]?.stringValue == Payload.dagHash(flow) else { throw PayloadError("payload is corrupt: its DAG hash does not match its flow") }
        parameters = v["parameters"]?.textKeyed ?? [:]
        self.script = script
        modules = (v["modules"]?.textKeyed ?? [:]).compactMapValues(SourceFile.init(value:))
        files = (v["files"]?.textKeyed ?? [:]).compactMapValues { if case .string(let bytes) = $0 { bytes } else { nil } }
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
