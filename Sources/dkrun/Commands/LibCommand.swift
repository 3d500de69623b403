import ArgumentParser
import DKCore
import DKLua

struct LibCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lib",
        abstract: "Show where `require` looks for Lua modules, and what it finds there.",
        subcommands: [Path.self, List.self]
    )

    struct Options: ParsableArguments {
        @Argument(help: ArgumentHelp("Search as for this flow script (its directory comes first).", valueName: "FLOW.lua"))
        var script: String = "./flow.lua"

        var searchPath: ModuleSearchPath { .forScript(at: script) }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "path", abstract: "Print the module search path, first place first.")
        @OptionGroup var options: Options

        func run() {
            for dir in options.searchPath.directories { print(dir) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the modules on the search path with their first doc line.")
        @OptionGroup var options: Options

        func run() {
            var seen = Set<String>()
            for dir in options.searchPath.directories {
                for (name, file) in Self.modules(in: dir, prefix: "") where seen.insert(name).inserted {
                    print("\(name.padding(to: 24)) \(Self.firstDocLine(file))  (\(file))")
                }
            }
        }

        /// Modules under a directory: a.lua is `a`, a/b.lua is `a.b`, a/init.lua is `a`.
        static func modules(in dir: String, prefix: String) -> [(String, String)] {
            guard let names = try? Files.list(dir) else { return [] }
            var out: [(String, String)] = []
            for name in names {
                let path = dir + "/" + name
                if name.hasSuffix(".lua"), Files.kind(path) == "file" {
                    let module = String(name.dropLast(4))
                    out.append((module == "init" && !prefix.isEmpty ? String(prefix.dropLast()) : prefix + module, path))
                } else if Files.kind(path) == "directory", !name.hasPrefix(".") {
                    out += modules(in: path, prefix: prefix + name + ".")
                }
            }
            return out
        }

        /// The text of the module's first comment line ("--- dk.json: ..."), or "".
        static func firstDocLine(_ file: String) -> String {
            guard let bytes = try? Files.read(file, limit: .source) else { return "" }
            let first = String(decoding: bytes.prefix(4096), as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("--") }
            return first.map { String($0.drop { $0 == "-" }).trimmingSpaces } ?? ""
        }
    }
}

extension String {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
