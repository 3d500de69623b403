import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing

/// docs/lua-api.md's tables of the configuration objects are the prelude's (config.lua),
/// word for word, so that the docs and `dkrun inspect` say the same of every field.
@Suite struct ConfigurationDocsTests {
    static let begin = "<!-- configuration fields: begin -->"
    static let end = "<!-- configuration fields: end -->"

    /// The tables, as the docs hold them.
    static func markdown(_ types: [ConfigurationType]) -> String {
        var lines: [String] = []
        for type in types {
            lines += ["", "`\(type.name)` (\(type.kind.replacingOccurrences(of: "_", with: " "))): \(type.about).", ""]
            guard !type.fields.isEmpty else { continue }
            lines += ["| field | takes | default | what it does |", "|---|---|---|---|"]
            for f in type.fields {
                let does = f.refused.map { "refused: " + $0 } ?? f.does ?? ""
                lines.append("| `\(f.name)` | \(f.expects ?? "") | \(f.defaultValue.map { "`\($0)`" } ?? "") | \(does) |")
            }
        }
        return "\n" + lines.joined(separator: "\n") + "\n\n"
    }

    @Test func theDocsTablesAreThePreludes() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let expected = Self.markdown(try host.configurationTypes())
        let docs = try String(contentsOfFile: repoRoot + "/docs/lua-api.md", encoding: .utf8)
        let start = try #require(docs.range(of: Self.begin)), stop = try #require(docs.range(of: Self.end))
        let inDocs = String(docs[start.upperBound ..< stop.lowerBound])
        #expect(inDocs == expected, "docs/lua-api.md's tables differ from config.lua's; they should read:\n\(expected)")
    }

    @Test func everyFieldEitherDoesSomethingOrSaysWhyNot() throws {
        let host = try LuaHost(sources: .script(path: "none.lua", searchPath: ModuleSearchPath(directories: [])))
        let types = try host.configurationTypes()
        #expect(types.map(\.name) == ["LocalEnvironment", "DaskKubernetesEnvironment", "DaskOnKubernetesEnvironment", "LocalRun",
                                      "KubernetesRun", "LocalExecutor", "LocalDaskExecutor", "DaskExecutor", "Local", "Docker"])
        for type in types {
            for f in type.fields {
                #expect((f.does?.isEmpty == false) != (f.refused?.isEmpty == false), "\(type.name).\(f.name)")
                #expect(f.refused != nil || f.expects?.isEmpty == false, "\(type.name).\(f.name)")
            }
        }
    }
}
