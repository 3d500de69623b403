@testable import DKCore
import Testing

@Suite struct YAMLTests {
    @Test(arguments: [
        ("3", Value.int(3)), ("-0x10", .text("-0x10")), ("0x10", .int(16)), ("0o17", .int(15)), ("1.5", .float(1.5)),
        ("1e3", .float(1000)), (".inf", .float(.infinity)), ("true", .bool(true)), ("False", .bool(false)),
        ("yes", .text("yes")), ("~", .null), ("null", .null), ("'3'", .text("3")), ("\"true\"", .text("true")),
        ("hello world", .text("hello world")), ("[1, a]", [1, "a"]), ("{a: 1}", ["a": 1]), ("!!str 12", .text("12")),
        ("!!float 2", .float(2)), ("", .null),
    ] as [(String, Value)])
    func scalarsResolveByTheCoreSchema(text: String, value: Value) throws {
        #expect(try YAML.load(text, source: "t") == value)
    }

    @Test func anchorsAliasesAndMerges() throws {
        let doc = """
        base: &base {image: dask, cpu: 1}
        worker:
          <<: *base
          cpu: 2
        list: [*base]
        """
        let v = try YAML.load(doc, source: "t.yaml")
        #expect(v["worker"] == ["image": "dask", "cpu": 2])
        #expect(v["list"] == [["image": "dask", "cpu": 1]])
    }

    @Test func multiDocumentStreams() throws {
        let docs = try YAML.loadAll("a: 1\n---\nb: 2\n---\n", source: "t")
        #expect(docs == [["a": 1], ["b": 2], .null])
        let error = #expect(throws: YAML.LoadError.self) { try YAML.load("a: 1\n---\nb: 2\n", source: "t") }
        #expect(error?.description == "t:1:1: expected one YAML document, found 2")
    }

    @Test(arguments: [
        ("a: [1,\n", "p.yaml:2:1: while parsing a flow node: did not find expected node content"),
        ("a: 1\na: 2\n", "p.yaml:2:1: duplicate key \"a\""),
        ("a: *nope\n", "p.yaml:1:4: unknown alias *nope"),
        ("a:\n\t- 1\n", "p.yaml:2:1: while scanning for the next token: found character that cannot start any token"),
        ("x: !!int abc\n", "p.yaml:1:4: 'abc' is not a valid !!int"),
    ])
    func malformedYAMLNamesLineAndColumn(text: String, message: String) {
        let error = #expect(throws: YAML.LoadError.self) { try YAML.load(text, source: "p.yaml") }
        #expect(error?.description == message)
    }

    @Test func seedWorkerSpecLoads() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let bytes = try Files.read("/" + path + "/examples/worker_spec.yaml", limit: .source)
        let spec = try YAML.load(String(decoding: bytes, as: UTF8.self), source: "worker_spec.yaml")
        #expect(spec["kind"] == "Pod")
        #expect(spec["spec"]?["containers"]?.arrayValue?.first?["args"]?.arrayValue?.first == "dask-worker")
        #expect(spec["spec"]?["replicas"] == 2)
    }
}
