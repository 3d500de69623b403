/// Where something was made in a flow's source, as messages print it: `flow.lua:12`. Messages
/// about a flow start with the position to fix (`FlowError(at:_:)`).
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let file: String
    /// nil when the place is known only by its file (or not at all: `?`).
    public let line: Int?

    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    /// Reads the text `description` writes (`file:line`, or a bare name).
    public init(_ text: String) {
        if let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) {
            self.init(file: String(text[..<colon]), line: line)
        } else {
            self.init(file: text, line: nil)
        }
    }

    public init(stringLiteral text: String) { self.init(text) }

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}
