import DKTestSupport
import Foundation
import Testing

/// Vendor script libraries and the standard library through the command line.
@Suite struct LibraryTests {
    @Test func libPathListsThePlacesInOrder() throws {
        let r = try CLI.run(["lib", "path", "examples/vendor_report.lua"])
        let lines = r.lines
        #expect(Array(lines.prefix(3)) == ["examples", "examples/vendor", "vendor"])
        #expect(lines.last == CLI.repoRoot + "/stdlib")
    }

    @Test func aUsersLibraryLivesInDkrunsHome() throws {
        let home = try TempDir(["lib/greeting.lua": "return { text = 'hello from home' }\n"])
        let flow = try TempDir(["f.lua": "local greet = task('greet', function() print(require('greeting').text) end)\n"
                                       + "return Flow('home', function() greet() end)\n"])
        let environment = ["DKRUN_HOME": home.path]
        let path = try CLI.run(["lib", "path", flow.file("f.lua")], environment: environment)
        #expect(path.lines.dropLast().last == home.path + "/lib")
        let run = try CLI.run([flow.file("f.lua")], environment: environment)
        #expect(run.status == 0)
        #expect(run.stdout.contains("greet | hello from home\n"), "\(run.stdout)")
    }

    @Test func libListShowsModulesWithTheirFirstDocLine() throws {
        let r = try CLI.run(["lib", "list", "examples/vendor_report.lua"])
        #expect(r.lines.contains { $0.hasPrefix("records ") && $0.contains("records: tasks that read CSV and JSON records") })
        #expect(r.lines.contains { $0.hasPrefix("dk.json ") && $0.contains("dk.json: JSON text to and from Lua values.") })
    }

    @Test func aFlowUsingAVendorLibraryRunsFromItsPayloadOnThreads() throws {
        let dir = try TempDir()
        let r = try CLI.run(["examples/vendor_report.lua", "--param", "output=\(dir.file("s.json"))", "--executor", "threads=2", "-q"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("show | north: 3 sales, total 180"))
        let summary = try String(contentsOfFile: dir.file("s.json"), encoding: .utf8)
        #expect(summary == #"{"north":{"count":3,"max":120,"min":15,"total":180},"south":{"count":2,"max":80,"min":60,"total":140}}"# + "\n")
    }

    @Test func secretValuesNeverReachTheOutput() throws {
        let dir = try TempDir(["s.lua": """
            local leak = task("leak", function()
              local token = dk.secrets.get("deploy_token")
              print("using " .. token)
              error("refused: " .. token)
            end)
            return Flow("secrets", function() leak() end)
            """])
        setenv("DKRUN_SECRET_DEPLOY_TOKEN", "tok-4242-secret", 1)
        for mode in [[], ["--json-events"], ["-v"]] {
            let r = try CLI.run([dir.file("s.lua")] + mode)
            #expect(r.status == 1)
            #expect(!r.stdout.contains("tok-4242-secret") && !r.stderr.contains("tok-4242-secret"))
            #expect(r.stdout.contains("using ****"))
        }
    }

    @Test func moduleErrorsAreBadInput() throws {
        let dir = try TempDir(["m.lua": "local x = require('nowhere')\n", "s.lua": "local b = require('broken')\n",
                               "broken.lua": "return {\n  a = = 1\n}\n"])
        let missing = try CLI.run(["m.lua"], in: dir.path)
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("dkrun: error: m.lua:1: module 'nowhere' not found:\n\tno field package.preload['nowhere']\n\tno file 'nowhere.lua'\n\tno file 'nowhere/init.lua'\n\tno file 'vendor/nowhere.lua'"))
        let broken = try CLI.run(["s.lua"], in: dir.path)
        #expect(broken.status == 2)
        #expect(broken.stderr == "dkrun: error: error loading module 'broken' from file 'broken.lua':\n\tbroken.lua:2: unexpected symbol near '='\n")
    }
}
