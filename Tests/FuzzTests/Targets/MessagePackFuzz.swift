import DKCore

/// The MessagePack decoder, on any bytes: a value that decodes encodes canonically (decoding
/// the encoding gives the same value, encoding it again the same bytes); and a task state read
/// from it, as a worker reads its upstream states.
enum MessagePackFuzz {
    static func run(_ input: [UInt8]) {
        guard let value = try? MessagePack.decode(input) else { return }
        let encoded = MessagePack.encode(value)
        let again = try? MessagePack.decode(encoded)
        fuzzCheck(again == value, "\(value) encodes to bytes that decode to \(again.map { "\($0)" } ?? "an error")")
        fuzzCheck(again.map(MessagePack.encode) == encoded, "the encoding of \(value) is not canonical")
        _ = try? TaskState(value: value)
    }
}
