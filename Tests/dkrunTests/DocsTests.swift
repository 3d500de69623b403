import DKTestSupport
import Foundation
import Testing

/// Every ```lua block in docs/ is a complete flow script that runs; a ```output block right
/// after one lists lines its output must contain.
@Suite struct DocsTests {
    struct Example: CustomTestStringConvertible {
        let file: String
        let line: Int
        let source: String
        let expected: [String]
        var testDescription: String { "\(file):\(line)" }
    }

    static let examples: [Example] = {
        let docs = CLI.repoRoot + "/docs"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: docs)) ?? []).filter { $0.hasSuffix(".md") }.sorted()
        var out: [Example] = []
        for file in files {
            let lines = ((try? String(contentsOfFile: docs + "/" + file, encoding: .utf8)) ?? "")
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var i = 0
            func block(at start: Int) -> (body: [String], end: Int) {
                var j = start + 1
                while j < lines.count && lines[j] != "```" { j += 1 }
                return (Array(lines[(start + 1) ..< min(j, lines.count)]), j)
            }
            while i < lines.count {
                if lines[i] == "```lua" {
                    let (body, end) = block(at: i)
                    var expected: [String] = []
                    if end + 1 < lines.count && lines[end + 1] == "```output" { expected = block(at: end + 1).body }
                    out.append(Example(file: file, line: i + 1, source: body.joined(separator: "\n"), expected: expected))
                    i = end
                }
                i += 1
            }
        }
        return out
    }()

    @Test func theDocsHaveExamples() {
        #expect(Self.examples.count >= 6)
    }

    @Test(arguments: examples)
    func docExampleRuns(example: Example) throws {
        let dir = try TempDir(["example.lua": example.source])
        let r = try CLI.run([dir.file("example.lua"), "--executor", "local", "-q"])
        #expect(r.status == 0, "\(example.file):\(example.line): \(r.stderr)")
        for line in example.expected {
            #expect(r.lines.contains { $0.hasSuffix(" " + line) }, "\(example.file):\(example.line): no line ending in '\(line)' in:\n\(r.stdout)")
        }
    }
}
