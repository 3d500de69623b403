import DKCore
import DKTestSupport
import Foundation

/// Runs the built `dkrun` as a user would and captures what it printed.
struct CLI {
    static let repoRoot = DKTestSupport.repoRoot

    /// The binary `swift build` made for these tests (DKRUN_BINARY overrides).
    static let binary = ProcessInfo.processInfo.environment["DKRUN_BINARY"] ?? repoRoot + "/.build/debug/dkrun"

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }

        init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// What a program run through DKCore's Subprocess printed.
        init(_ r: Subprocess.Result) {
            self.init(status: r.status, stdout: String(decoding: r.stdout, as: UTF8.self), stderr: String(decoding: r.stderr, as: UTF8.self))
        }
    }

    /// The run history of every dkrun the tests start (DKRUN_HOME), never the user's
    /// ~/.dkrun: a directory of this test process, removed when it exits, with the warm Dask
    /// driver its runs started stopped. A test that looks at the history, or at the warm
    /// driver, gives a DKRUN_HOME of its own.
    static let home: String = {
        let path = "/tmp/dkc-home-" + UUID4.make().prefix(8)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit {
            WarmDrivers.stop(home: CLI.home)
            try? FileManager.default.removeItem(atPath: CLI.home)
        }
        return path
    }()

    /// This process's environment for a dkrun: DKRUN_HOME set to `home`, then `extra` over it.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(["DKRUN_HOME": home]) { $1 }.merging(extra) { $1 }
    }

    static func run(_ arguments: [String], in directory: String = repoRoot, environment: [String: String] = [:]) throws -> Result {
        let process = start(arguments, in: directory, environment: environment)
        try process.run()
        return finish(process)
    }

    /// - Parameter environment: variables added to this process's for the run (and DKRUN_HOME, see `home`).
    static func start(_ arguments: [String], in directory: String = repoRoot, environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.environment = Self.environment(environment)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        process.standardInput = FileHandle.nullDevice
        return process
    }

    static func finish(_ process: Process) -> Result {
        let out = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        let err = (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }
}

/// Lines of `--json-events` output, parsed.
func events(_ stdout: String) throws -> [[String: Any]] {
    try stdout.split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
