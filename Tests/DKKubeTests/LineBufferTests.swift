import DKKube
import Testing

/// A stream cut into lines whatever chunks it comes in (a watch, a followed pod log).
@Suite struct LineBufferTests {
    @Test(arguments: [1, 2, 3, 5, 64, 100_000])
    func linesWhateverTheChunks(size: Int) {
        // A long line (a task's result in a pod's log) among short and empty ones, and a last one without its newline.
        let long = String(repeating: "x", count: 20_000)
        let text = Array("ab\n\nc\n\(long)\nd\ntail".utf8)
        let buffer = LineBuffer()
        var lines: [String] = []
        for start in stride(from: 0, to: text.count, by: size) {
            let fed = buffer.feed(Array(text[start ..< min(start + size, text.count)])) { line in
                lines.append(String(decoding: line, as: UTF8.self))
                return true
            }
            #expect(fed)
        }
        #expect(lines == ["ab", "", "c", long, "d"])
        #expect(buffer.finish().map { String(decoding: $0, as: UTF8.self) } == "tail")
        #expect(buffer.finish() == nil)
    }

    /// A handler that says stop ends the feed; the lines after it stay for the next.
    @Test func aHandlerStops() {
        let buffer = LineBuffer()
        var lines: [String] = []
        let collect = { (line: [UInt8]) -> Bool in
            lines.append(String(decoding: line, as: UTF8.self))
            return lines.count != 1
        }
        #expect(!buffer.feed(Array("a\nb\nc".utf8), collect))
        #expect(lines == ["a"])
        #expect(buffer.feed(Array("\n".utf8), collect))
        #expect(lines == ["a", "b", "c"])
    }
}
