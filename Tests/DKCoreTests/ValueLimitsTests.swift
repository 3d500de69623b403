import DKCore
import DKTestSupport
import Foundation
import Testing

/// The limits every decoder shares (docs/limits.md): how deep values nest, how much YAML
/// aliases repeat, what JSON's `\u` escapes and map keys may hold. The bad inputs are the
/// files in Tests/Fixtures/bad-inputs/values; the large ones (100,000 levels, an alias
/// expansion at its limit) are made here.
@Suite struct ValueLimitsTests {
    static let fixtures = repoRoot + "/Tests/Fixtures/bad-inputs/values/"

    /// Each file, and the error decoding it gives (the decoder goes by the file's extension).
    static let messages: [String: String] = [
        "json-deep-arrays.json": "[1][1][1][1][1][1][1][1]...[1][1] is nested more than 200 levels deep (the limit) at byte 201",
        "json-deep-objects.json": "config.a.a.a.a.a.a.a...a.a is nested more than 200 levels deep (the limit) at byte 1206",
        "json-two-high-surrogates.json": "lone high surrogate \\ud800 (half of a UTF-16 pair, with no UTF-8 form) at byte 2",
        "json-high-surrogate-then-letter.json": "lone high surrogate \\ud800 (half of a UTF-16 pair, with no UTF-8 form) at byte 2",
        "json-lone-low-surrogate.json": "lone low surrogate \\udc00 (half of a UTF-16 pair, with no UTF-8 form) at byte 9",
        "json-high-surrogate-at-end.json": "lone high surrogate \\ud800 (half of a UTF-16 pair, with no UTF-8 form) at byte 5",
        "json-key-not-utf8.json": "ok has a key that is not UTF-8 text at byte 9",
        "yaml-deep-flow.yaml": "yaml-deep-flow.yaml:1:203: x[1][1][1][1][1][1][1]...[1][1] is nested more than 200 levels deep (the limit)",
        "yaml-deep-through-alias.yaml": "yaml-deep-through-alias.yaml:2:66: use[1][1][1][1][1][1][1]...[1][1] "
            + "(alias *base, 150 levels itself) is nested more than 200 levels deep (the limit)",
        "yaml-billion-laughs.yaml": "yaml-billion-laughs.yaml:6:16: aliases repeat more than 1000000 nodes and bytes (the limit on alias expansion)",
        "yaml-long-laughs.yaml": "yaml-long-laughs.yaml:2:801: aliases repeat more than 1000000 nodes and bytes (the limit on alias expansion)",
        "yaml-surrogate-key.yaml": "yaml-surrogate-key.yaml:1:4: while parsing a quoted scalar: found invalid Unicode character escape code",
        "msgpack-deep.msgpack": "malformed value at byte 216: [1][1][1][1][1][1][1][1]...[1][1] is nested more than 216 levels deep (the limit)",
        "msgpack-key-not-utf8.msgpack": "malformed value at byte 5: ok has a key that is not UTF-8 text",
        // Two such keys once made a payload's parameters "Duplicate values for key" (a crash).
        "payload-parameter-keys-not-utf8.dkp": "not a dkrun payload: malformed value at byte 43: parameters has a key that is not UTF-8 text",
    ]

    static func decode(_ name: String, _ bytes: [UInt8]) throws {
        switch name.split(separator: ".").last {
        case "json": _ = try JSON.decode(bytes)
        case "yaml": _ = try YAML.load(String(decoding: bytes, as: UTF8.self), source: name)
        case "msgpack": _ = try MessagePack.decode(bytes)
        default: _ = try Payload(bytes: bytes)
        }
    }

    @Test(arguments: messages.keys.sorted())
    func badInputIsAnErrorSayingWhereAndWhy(name: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.fixtures + name))
        let error = #expect(throws: (any Error).self) { try Self.decode(name, [UInt8](bytes)) }
        #expect("\(error!)" == Self.messages[name])
        #expect((error as? CategorizedError)?.exitStatus == .badInput)
    }

    @Test func everyFixtureHasItsMessage() throws {
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: Self.fixtures)) == Set(Self.messages.keys))
    }

    /// 100,000 levels once overflowed the stack (libyaml's events are read recursively).
    @Test func aHundredThousandLevelsStopAtTheLimit() {
        let n = 100_000
        let json = #expect(throws: JSON.DecodeError.self) { try JSON.decode(Array(String(repeating: "[", count: n).utf8)) }
        #expect(json?.offset == 201)
        let flow = #expect(throws: YAML.LoadError.self) { try YAML.load(String(repeating: "[", count: n), source: "f") }
        #expect(flow?.column == 201)
        let block = #expect(throws: YAML.LoadError.self) { try YAML.load(String(repeating: "- ", count: n) + "x", source: "b") }
        #expect(block?.description.hasSuffix("is nested more than 200 levels deep (the limit)") == true)
        let mp = #expect(throws: MessagePack.DecodeError.self) { try MessagePack.decode([UInt8](repeating: 0x91, count: n) + [1]) }
        #expect(mp?.offset == Value.maxMessageDepth)
    }

    @Test func valuesAtTheLimitDecode() throws {
        func nested(_ levels: Int) -> Value { (0 ..< levels - 1).reduce(Value.array([])) { v, _ in .array([v]) } }
        let json = String(repeating: "[", count: Value.maxDepth) + String(repeating: "]", count: Value.maxDepth)
        #expect(try JSON.decode(Array(json.utf8)) == nested(Value.maxDepth))
        #expect(try YAML.load(json, source: "t") == nested(Value.maxDepth))
        #expect(throws: JSON.DecodeError.self) { try JSON.decode(Array(json.utf8), maxDepth: Value.maxDepth - 1) }
        // A value of maxDepth inside dkrun's messages: MessagePack reads maxMessageDepth.
        let message = nested(Value.maxMessageDepth)
        #expect(try MessagePack.decode(MessagePack.encode(message)) == message)
        // An alias that reaches exactly the limit.
        let anchored = "a: &a " + String(repeating: "[", count: 150) + String(repeating: "]", count: 150)
        let alias = "\nb: " + String(repeating: "[", count: Value.maxDepth - 151) + "*a" + String(repeating: "]", count: Value.maxDepth - 151)
        #expect(try YAML.load(anchored + alias, source: "t")["b"] == nested(Value.maxDepth - 1))
    }

    /// Aliases may repeat up to `YAML.maxAliasExpansion`: each node counts 1, and a scalar
    /// also its bytes. 999 bytes + 1, repeated 1,000 times, is exactly the limit.
    @Test func aliasExpansionUpToTheLimitLoads() throws {
        let scalar = String(repeating: "x", count: 999)
        let doc = { (aliases: Int) in "a: &a \(scalar)\nb: [" + Array(repeating: "*a", count: aliases).joined(separator: ", ") + "]\n" }
        #expect(try YAML.load(doc(1000), source: "t")["b"]?.arrayValue?.count == 1000)
        let error = #expect(throws: YAML.LoadError.self) { try YAML.load(doc(1001), source: "t") }
        #expect(error?.problem == "aliases repeat more than 1000000 nodes and bytes (the limit on alias expansion)")
    }

    @Test(arguments: [
        (#""\ud83d\ude00""#, Value.text("😀")), (#""\u00e9\u0041""#, .text("éA")), (#""\uD83D\uDE00""#, .text("😀")),
    ])
    func surrogatePairsAndOtherEscapesDecode(json: String, value: Value) throws {
        #expect(try JSON.decode(Array(json.utf8)) == value)
    }

    @Test(arguments: [#""\u+041""#, #""\u-041""#, #""\u00g1""#, #""\ud800\u12""#])
    func malformedUnicodeEscapesAreErrors(json: String) {
        #expect(throws: JSON.DecodeError.self) { try JSON.decode(Array(json.utf8)) }
    }

    @Test func pathsNameKeysAndShortenLongPaths() {
        var path = ValuePath()
        path.steps = [.key("name"), .key("a b"), .index(2), .key(3), .inKey]
        #expect(path.text(root: "result") == #"result.name["a b"][2][3][<key>]"#)
        #expect(path.text(root: "") == #"name["a b"][2][3][<key>]"#)
        path.steps = Array(repeating: .index(1), count: 12)
        #expect(path.text(root: "r") == "r" + String(repeating: "[1]", count: 12))
        path.steps = (1 ... 13).map { .index($0) }
        #expect(path.text(root: "r") == "r[1][2][3][4][5][6][7][8]...[12][13]")
        path.steps = Array(repeating: .key("a"), count: 13)
        #expect(path.text(root: "") == "a.a.a.a.a.a.a.a...a.a")
        #expect(ValuePath().text(root: "") == "the value")
    }
}
