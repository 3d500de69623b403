import Foundation

/// A temporary directory of files for one test, removed after.
public final class TempDir {
    public let path = "/tmp/dkc-" + UUID().uuidString.prefix(8)

    public init(_ files: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}
