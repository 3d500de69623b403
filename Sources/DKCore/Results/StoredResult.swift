/// One stored task result: the value and what it is the result of. Its bytes are one
/// MessagePack map (`format = "dkrun-result"`, `version = 1`), in docs/results.md.
public struct StoredResult: Sendable, Equatable {
    public var value: Value
    public var identity: String
    public var flow: String
    public var task: String
    public var mapIndex: Int?
    /// Wall seconds when it was stored.
    public var stored: Double
    /// For a cache entry: wall seconds after which it is no longer used.
    public var expires: Double?

    public static let version: Int64 = 1

    public init(value: Value, identity: String, flow: String, task: String, mapIndex: Int?, stored: Double, expires: Double? = nil) {
        self.value = value
        self.identity = identity
        self.flow = flow
        self.task = task
        self.mapIndex = mapIndex
        self.stored = stored
        self.expires = expires
    }

    public var bytes: [UInt8] {
        // Written directly, keys in canonical order (shorter first, then bytewise): a mapped
        // task keeps one result per child, so this runs ten thousand times in a fan.
        var w = MessagePack.Writer()
        w.mapHeader(count: 7 + (expires == nil ? 0 : 1) + (mapIndex == nil ? 0 : 1))
        w.key("flow"); w.string(flow)
        w.key("task"); w.string(task)
        w.key("value"); w.value(value)
        w.key("format"); w.string("dkrun-result")
        w.key("stored"); w.float(stored)
        if let expires { w.key("expires"); w.float(expires) }
        w.key("version"); w.int(Self.version)
        w.key("identity"); w.string(identity)
        if let mapIndex { w.key("map_index"); w.int(Int64(mapIndex)) }
        return w.bytes
    }

    /// Reads stored bytes; what is not a whole stored result (truncated, corrupt, another
    /// format or version) is an error saying so.
    public init(bytes: [UInt8]) throws {
        let v = try MessagePack.decode(bytes)
        guard v["format"]?.stringValue == "dkrun-result" else { throw FlowError("not a stored dkrun result") }
        guard v["version"]?.intValue == Self.version else {
            throw FlowError("a stored result of version \(v["version"].map(JSON.encode) ?? "?"), where this dkrun reads \(Self.version)")
        }
        guard let value = v["value"], let identity = v["identity"]?.stringValue, let flow = v["flow"]?.stringValue,
              let task = v["task"]?.stringValue, let stored = v["stored"]?.numberValue else {
            throw FlowError("a stored result lacks a field")
        }
        self.init(value: value, identity: identity, flow: flow, task: task, mapIndex: v["map_index"]?.intValue.map(Int.init),
                  stored: stored, expires: v["expires"]?.numberValue)
    }
}
