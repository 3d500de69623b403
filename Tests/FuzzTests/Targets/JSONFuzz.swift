import DKCore

/// The JSON decoder on any bytes: what decodes encodes to text that decodes, and encodes again
/// to the same text (the first encoding may replace invalid UTF-8).
enum JSONFuzz {
    static func run(_ input: [UInt8]) {
        guard let value = try? JSON.decode(input) else { return }
        let text = JSON.encode(value)
        let again = Result { try JSON.decode(Array(text.utf8)) }
        fuzzCheck((try? again.get()).map(JSON.encode) == text, "\(value) encodes as \(text), which decodes as \(again)")
    }
}
