@testable import DKCore
import Testing

/// Builds small flow specs directly, to test validation apart from Lua.
func makeTask(_ slug: String, params: [String] = [], parameter: ParameterSpec? = nil) -> TaskSpec {
    TaskSpec(slug: slug, name: slug, source: SourcePosition("f.lua:\(slug.count)"), argumentNames: params, isVararg: false, maxRetries: 0,
             retryDelay: 0, timeout: nil, trigger: .allSuccessful, skipOnUpstreamSkip: true, tags: [], nout: nil,
             checkpoint: nil, parameter: parameter)
}

func makeEdge(_ u: String, _ d: String, key: String? = nil) -> EdgeSpec {
    EdgeSpec(upstream: u, downstream: d, key: key, mapped: false, index: nil, source: "f.lua:9")
}

func makeFlow(_ tasks: [TaskSpec], _ edges: [EdgeSpec], constants: [ConstantSpec] = []) -> FlowSpec {
    FlowSpec(name: "f", tasks: tasks, edges: edges, constants: constants, referenceTasks: nil, configuration: [:])
}

@Suite struct FlowGraphTests {
    @Test func cyclesAreNamedWithTheirTasks() {
        let flow = makeFlow([makeTask("a"), makeTask("b"), makeTask("c"), makeTask("d")],
                            [makeEdge("a", "b"), makeEdge("b", "c"), makeEdge("c", "a"), makeEdge("c", "d")])
        let error = #expect(throws: FlowError.self) { try FlowGraph(flow) }
        #expect(error?.description.hasPrefix("f.lua:9: flow 'f' has a cycle: ") == true)
        for t in ["a", "b", "c"] { #expect(error?.description.contains("\(t) (defined at f.lua:1)") == true) }
        #expect(error?.description.contains("d (defined") == false)
    }

    @Test func selfLoopIsACycle() {
        let error = #expect(throws: FlowError.self) { try FlowGraph(makeFlow([makeTask("a")], [makeEdge("a", "a")])) }
        #expect(error?.description == "f.lua:9: cycle: task 'a' depends on itself")
    }

    @Test func unknownTasksAndDuplicateSlugs() {
        let e1 = #expect(throws: FlowError.self) { try FlowGraph(makeFlow([makeTask("a")], [makeEdge("a", "zz")])) }
        #expect(e1?.description == "f.lua:9: edge a -> zz names a task that is not in flow 'f'")
        let e2 = #expect(throws: FlowError.self) { try FlowGraph(makeFlow([makeTask("a"), makeTask("a")], [])) }
        #expect(e2?.description == "f.lua:1: flow 'f' has two tasks with the slug 'a'")
    }

    @Test func terminalTasksAreTheReferenceTasks() throws {
        let g = try FlowGraph(makeFlow([makeTask("a"), makeTask("b"), makeTask("c")], [makeEdge("a", "b"), makeEdge("a", "c", key: "x"), makeEdge("a", "c")]))
        #expect(g.referenceTaskIndices == [1, 2])
        #expect(g.upstream[2] == [0])  // a state edge and a data edge count once
    }

    @Test func parametersResolve() throws {
        let flow = makeFlow([makeTask("n", parameter: ParameterSpec(defaultValue: 3, required: false)),
                             makeTask("url", parameter: ParameterSpec(defaultValue: .null, required: true))], [])
        let g = try FlowGraph(flow)
        #expect(try g.resolveParameters(["url": "x"]) == ["n": 3, "url": "x"])
        let missing = #expect(throws: FlowError.self) { try g.resolveParameters([:]) }
        #expect(missing?.description == "f.lua:3: missing value for required parameter 'url' (give it with --param url=VALUE)")
        let unknown = #expect(throws: FlowError.self) { try g.resolveParameters(["url": "x", "nn": 1]) }
        #expect(unknown?.description == "flow 'f' has no parameter 'nn' (it has n, url)")
    }
}

@Suite struct TriggerTests {
    @Test(arguments: [
        (Trigger.allSuccessful, [StateKind.success, .skipped], nil as StateKind?),
        (.allSuccessful, [.success, .failed], .triggerFailed),
        (.allFinished, [.failed, .triggerFailed], nil),
        (.allFailed, [.failed, .timedOut], nil),
        (.allFailed, [.failed, .success], .triggerFailed),
        (.anySuccessful, [.failed, .success], nil),
        (.anySuccessful, [.failed, .failed], .triggerFailed),
        (.anyFailed, [.success, .triggerFailed], nil),
        (.anyFailed, [.success], .triggerFailed),
        (.manualOnly, [.success], .paused),
        (.notAllSkipped, [.skipped, .skipped], .skipped),
        (.notAllSkipped, [.skipped, .success], nil),
        (.notAllSkipped, [.skipped, .failed], .triggerFailed),
        (.someSuccessful(atLeast: 2, atMost: nil), [.success, .failed, .success], nil),
        (.someSuccessful(atLeast: 0.9, atMost: nil), [.success, .failed], .triggerFailed),
        (.someFailed(atLeast: nil, atMost: 0), [.success, .failed], .triggerFailed),
    ])
    func triggersDecideFromUpstreamStates(trigger: Trigger, upstream: [StateKind], ends: StateKind?) {
        #expect(trigger.check(upstream, hasUpstream: true)?.kind == ends)
    }
}

@Suite struct PayloadTests {
    func payload(_ params: [String: Value] = ["n": 1]) -> Payload {
        Payload(flow: makeFlow([makeTask("n", parameter: ParameterSpec(defaultValue: 0, required: false)), makeTask("t", params: ["x"])],
                               [makeEdge("n", "t", key: "x")], constants: [ConstantSpec(task: "t", key: "y", value: [1, 2], mapped: true)]),
                parameters: params, script: SourceFile(chunkName: "f.lua", text: Array("return 1".utf8)),
                modules: ["lib": SourceFile(chunkName: "lib.lua", text: [])], files: ["spec.yaml": [1, 2, 3]])
    }

    @Test func roundTripsAndIsDeterministic() throws {
        let bytes = payload().encoded()
        #expect(payload().encoded() == bytes)
        #expect(try Payload(bytes: bytes) == payload())
        #expect(payload(["n": 2]).encoded() != bytes)
        #expect(Payload.dagHash(payload(["n": 2]).flow) == Payload.dagHash(payload().flow))
    }

    @Test func directEncodingIsCanonical() throws {
        let flow = payload().flow
        let bytes = flow.encodedDescription()
        #expect(MessagePack.encode(try MessagePack.decode(bytes)) == bytes)
        #expect(try FlowSpec(description: flow.descriptionValue) == flow)
    }

    @Test func otherVersionsAndCorruptionAreRejected() throws {
        var v = try MessagePack.decode(payload().encoded()).mapValue!
        v["version"] = 99
        let e1 = #expect(throws: PayloadError.self) { try Payload(bytes: MessagePack.encode(.map(v))) }
        #expect(e1?.description == "payload version 99 is not supported by this dkrun (it reads version \(Payload.version))")
        let e3 = #expect(throws: PayloadError.self) { try Payload(bytes: [0x01]) }
        #expect(e3?.description == "not a dkrun payload (no format marker)")
        // Corruption of each field: PayloadHashTests.
    }
}
