import DKCore
import Testing

@Suite struct SourcePositionTests {
    @Test(arguments: [
        ("flow.lua:12", "flow.lua", 12 as Int?),
        ("/tmp/a:b/flow.lua:3", "/tmp/a:b/flow.lua", 3),
        ("?", "?", nil),
        ("=stdin", "=stdin", nil),
        ("weird:name", "weird:name", nil),
    ])
    func readsTheFileAndTheLine(text: String, file: String, line: Int?) {
        let position = SourcePosition(text)
        #expect(position.file == file && position.line == line)
        #expect(position.description == text)
    }

    @Test func putsItselfFirstInAFlowError() {
        #expect(FlowError(at: SourcePosition(file: "f.lua", line: 4), "no such parameter").description == "f.lua:4: no such parameter")
    }
}
