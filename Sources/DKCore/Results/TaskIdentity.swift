/// What makes one run of a task the same as another: the text of its own function, its
/// options (its description without where it was made) and its input values, each in
/// canonical MessagePack. Stored with each result; a resume reruns a task whose identity
/// changed. Editing a task's function or options, or what flows into it, changes it; moving
/// the task to another line does not.
public struct TaskIdentity: Sendable, Equatable, CustomStringConvertible {
    /// 64 hex digits.
    public let hash: String

    /// - Parameters:
    ///   - code: the text of the task's function (`TaskInvoker.functionText`).
    ///   - inputs: its argument values, by parameter name.
    public init(task: TaskSpec, code: [UInt8], inputs: [String: Value]) {
        var w = MessagePack.Writer()
        task.write(to: &w)
        var options = (try? MessagePack.decode(w.bytes))?.textKeyed ?? [:]
        options["source"] = nil
        options["slug"] = nil
        // Where and when the task runs, not what it computes.
        options["priority"] = nil
        options["resources"] = nil
        hash = Digests.sha256Hex(MessagePack.encode(Value(textKeys: [
            "code": .text(Digests.sha256Hex(code)), "options": Value(textKeys: options), "inputs": Value(textKeys: inputs),
        ])))
    }

    public var description: String { hash }
}
