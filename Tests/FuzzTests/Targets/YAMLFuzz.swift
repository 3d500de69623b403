import DKCore

/// The YAML loader (libyaml and the Swift that walks its events) on any text, every document
/// of the stream; and the dumper on what loads, whose output loads back the same.
enum YAMLFuzz {
    static func run(_ input: [UInt8]) {
        guard let documents = try? YAML.loadAll(String(decoding: input, as: UTF8.self), source: "input.yaml") else { return }
        for document in documents {
            guard let text = try? YAML.dump(document) else { continue }
            let again = Result { try YAML.load(text, source: "dumped.yaml") }
            fuzzCheck((try? again.get()) == document, "\(document) dumps as\n\(text)\nwhich loads as \(again)")
        }
    }
}
