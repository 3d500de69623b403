import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a process runs: it exists and is not a zombie (dead, waiting to be collected by its
/// parent, or by init when it was orphaned).
public func isRunning(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let name = stat.lastIndex(of: ")") else { return false }
    return !stat[name...].hasPrefix(") Z")  // "pid (name) STATE ..."
}

/// Whether a process that was sent a signal stops running within `seconds` (it dies when it is
/// next scheduled, not at once).
public func stopsRunning(_ pid: pid_t, within seconds: Double = 10) -> Bool {
    Poll.until(deadline: Clock.monotonic() + seconds, every: 0.01) { isRunning(pid) ? nil : true } ?? false
}

/// The process ids a test's program wrote to `file`, separated by white space.
public func processIDs(in file: String) throws -> [pid_t] {
    try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
}
