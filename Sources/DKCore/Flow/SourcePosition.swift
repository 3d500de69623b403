/// Where something was made in a flow's source, as messages print it: `flow.lua:12`. Messages
/// about a flow start with the position to fix (`FlowError(at:_:)`). It keeps the text Lua
/// gave (a flow of 100,000 tasks has 200,000 of them) and reads the parts when asked.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// `file:line`, or only a name when the line is not known (`?`).
    public let description: String

    /// Takes the text `description` gives.
    public init(_ text: String) { description = text }

    public init(file: String, line: Int) { description = "\(file):\(line)" }

    public init(stringLiteral text: String) { self.init(text) }

    public var file: String { lineSeparator.map { String(description[..<$0]) } ?? description }

    public var line: Int? { lineSeparator.flatMap { Int(description[description.index(after: $0)...]) } }

    /// The colon before the line number, if the text ends with one.
    private var lineSeparator: String.Index? {
        guard let colon = description.lastIndex(of: ":"), Int(description[description.index(after: colon)...]) != nil else {
            return nil
        }
        return colon
    }
}
