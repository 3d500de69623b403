import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a test server in its own process group (so one kill stops it and its children),
/// its output in `log`, with `environment` over this process's (nil values unset).
public func startServer(_ argv: [String], log: String, environment: [String: String?] = [:]) throws -> pid_t {
    let fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    defer { close(fd) }
    var env = ProcessInfo.processInfo.environment
    for (name, value) in environment { env[name] = value }
    return try Subprocess.spawn(argv, stdio: [-1, fd, fd], environment: env.map { "\($0.key)=\($0.value)" })
}
