#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with input from memory and its output captured, through
/// temporary files (no pipe deadlocks, no shell).
public enum Subprocess {
    public struct Result {
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Parameter argv: the program (looked up in PATH) and its arguments.
    public static func run(_ argv: [String], input: [UInt8] = []) throws -> Result {
        let files = try (0 ..< 3).map { _ in try TemporaryFile() }
        defer { files.forEach { $0.remove() } }
        try Files.write(files[0].path, input)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, files[0].path, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, files[1].path, O_WRONLY | O_TRUNC, 0)
        posix_spawn_file_actions_addopen(&actions, 2, files[2].path, O_WRONLY | O_TRUNC, 0)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw SpawnError(description: "\(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exit, stdout: try Files.read(files[1].path), stderr: try Files.read(files[2].path))
    }

    private struct TemporaryFile {
        let path: String
        init() throws {
            var template = Array("/tmp/dkrun-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw SpawnError(description: "mkstemp: \(String(cString: strerror(errno)))") }
            close(fd)
            path = String(cString: template)
        }
        func remove() { unlink(path) }
    }
}
