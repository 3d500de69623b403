/// What makes one run of a task the same as another: the text of its own function, its
/// options (its description without where it was made) and its input values, each in
/// canonical MessagePack. Stored with each result; a resume reruns a task whose identity
/// changed. Editing a task's function or options, or what flows into it, changes it; moving
/// the task to another line does not.
public struct TaskIdentity: Sendable, Equatable, CustomStringConvertible {
    /// 64 hex digits.
    public let hash: String

    /// The part all calls of one task share (its function's text and its options), encoded
    /// once per task: a mapped task's children only encode their inputs.
    public struct TaskPart: Sendable {
        /// The identity's map around its "inputs" value (MessagePack's canonical key order):
        /// before it the header, the "code" entry and the "inputs" key, hashed once here;
        /// after it the "options" entry.
        fileprivate let head: Digests.SHA256Stream
        fileprivate let tail: [UInt8]

        /// - Parameter code: the text of the task's function.
        public init(task: TaskSpec, code: [UInt8]) {
            var w = MessagePack.Writer()
            task.write(to: &w)
            var options = (try? MessagePack.decode(w.bytes))?.textKeyed ?? [:]
            options["source"] = nil
            options["slug"] = nil
            // Where and when the task runs (and whether fused with others), not what it computes.
            options["priority"] = nil
            options["resources"] = nil
            options["fuse"] = nil
            var header = MessagePack.Writer()
            header.mapHeader(count: 3)
            var head = Digests.SHA256Stream()
            head.update(header.bytes + MessagePack.encode("code") + MessagePack.encode(.text(Digests.sha256Hex(code)))
                        + MessagePack.encode("inputs"))
            self.head = head
            tail = MessagePack.encode("options") + MessagePack.encode(Value(textKeys: options))
        }
    }

    /// - Parameter inputs: the call's argument values, by parameter name.
    public init(_ part: TaskPart, inputs: [String: Value]) {
        var hasher = part.head
        var w = MessagePack.Writer()
        w.map(textKeys: inputs)
        hasher.update(w.bytes)
        hasher.update(part.tail)
        hash = hasher.hex()
    }

    /// - Parameters:
    ///   - code: the text of the task's function.
    ///   - inputs: its argument values, by parameter name.
    public init(task: TaskSpec, code: [UInt8], inputs: [String: Value]) {
        self.init(TaskPart(task: task, code: code), inputs: inputs)
    }

    public var description: String { hash }
}
