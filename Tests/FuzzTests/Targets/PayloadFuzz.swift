import DKCore

/// Reading a payload (MessagePack, then the flow description, the DAG hash, the sources), as
/// a worker or a Job's pod does, then its task graph: a payload that reads encodes to one that
/// reads back equal.
enum PayloadFuzz {
    static func run(_ input: [UInt8]) {
        guard let payload = try? Payload(bytes: input) else { return }
        let again = Result { try Payload(bytes: payload.encoded()) }
        fuzzCheck((try? again.get()) == payload, "a payload does not read back from its own encoding: \(again)")
        _ = try? FlowGraph(payload.flow)
    }
}
