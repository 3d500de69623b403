@testable import DKCore
import Testing

/// Values in test output as JSON rather than as bytes.
extension Value: CustomTestStringConvertible {
    public var testDescription: String { JSON.encode(self) }
}

/// A flow built directly: tasks that depend on each other as `edges` say (upstream, downstream,
/// whether mapped), each of which may retry `maxRetries` times.
func makeGraph(_ slugs: [String], _ edges: [(String, String, mapped: Bool)], referenceTasks: [String]? = nil,
               maxRetries: Int = 0, retryDelay: Double = 0) throws -> FlowGraph {
    let tasks = slugs.map {
        TaskSpec(slug: $0, name: $0, source: "flow.lua:1", argumentNames: [], isVararg: false, maxRetries: maxRetries,
                 retryDelay: retryDelay, timeout: nil, trigger: .allSuccessful, skipOnUpstreamSkip: true, tags: [],
                 nout: nil, checkpoint: nil, parameter: nil)
    }
    let edgeSpecs = edges.map { EdgeSpec(upstream: $0.0, downstream: $0.1, key: "x", mapped: $0.mapped, index: nil, source: "flow.lua:2") }
    return try FlowGraph(FlowSpec(name: "numbers", tasks: tasks, edges: edgeSpecs, constants: [],
                                  referenceTasks: referenceTasks, configuration: [:]))
}
