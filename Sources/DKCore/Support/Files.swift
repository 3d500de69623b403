#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing whole files, with errors that name the file and the reason.
public enum Files {
    public struct FileError: CategorizedError, Equatable {
        public let path: String
        public let reason: String
        /// A file that cannot be read is bad input (the user named it); one that cannot be
        /// written is a failure.
        public let exitStatus: ExitStatus
        public var description: String { "\(path): \(reason)" }

        public init(path: String, reason: String, exitStatus: ExitStatus = .badInput) {
            self.path = path
            self.reason = reason
            self.exitStatus = exitStatus
        }
    }

    /// The whole file, refused above `limit` (a regular file by its size before it is read,
    /// anything else, `/dev/zero` say, once `limit` bytes have come).
    public static func read(_ path: String, limit: SizeLimit) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var st = stat()
        if fstat(fileno(f), &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, reason: "is a directory") }
            if (st.st_mode & S_IFMT) == S_IFREG && st.st_size > limit.bytes {
                throw FileError(path: path, reason: limit.refusal(Int(st.st_size)))
            }
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            guard out.count + n <= limit.bytes else { throw FileError(path: path, reason: limit.refusal()) }
            if n > 0 { out.append(contentsOf: buffer[0 ..< n]) }
            if n < buffer.count {
                if ferror(f) != 0 { throw FileError(path: path, reason: String(cString: strerror(errno))) }
                return out
            }
        }
    }

    public static func write(_ path: String, _ bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else {
            throw FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
        defer { fclose(f) }
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else {
            throw FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
    }

    /// Makes the directory and those above it that are missing (`mkdir -p`).
    public static func makeDirectories(_ path: String) throws {
        guard kind(path) != "directory" else { return }
        let parent = directory(of: path)
        if parent != path && parent != "." && parent != "/" { try makeDirectories(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileError(path: path, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
    }

    /// Renames `path` to `target` at once, replacing it (rename(2)).
    public static func rename(_ path: String, to target: String) throws {
        guard Glibc.rename(path, target) == 0 else {
            throw FileError(path: target, reason: String(cString: strerror(errno)), exitStatus: .failure)
        }
    }

    public static func isReadableFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, R_OK) == 0
    }

    public static func isExecutable(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// The directory part of a path ("." for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` joined to `base` unless it is absolute; "./" prefixes are dropped.
    public static func join(_ base: String, _ path: String) -> String {
        if path.hasPrefix("/") || base == "." || base.isEmpty { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// The running program's own path (its target, when it was started through a link).
    public static var executablePath: String {
        linkTarget("/proc/self/exe") ?? (CommandLine.arguments.first ?? ".")
    }

    /// What a symbolic link points to, or nil when `path` is none.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        return n > 0 ? String(cString: buffer) : nil
    }

    /// The names in a directory, sorted, without "." and "..".
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// This process's current directory.
    public static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        return getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "."
    }

    /// "file", "directory", "other", or nil when nothing is there.
    public static func kind(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "file"
        case S_IFDIR: return "directory"
        default: return "other"
        }
    }

    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// This process's whole environment, as "NAME=value" entries.
    public static var environmentEntries: [String] {
        var entries: [String] = []
        var p = environ
        while let entry = p.pointee {
            entries.append(String(cString: entry))
            p += 1
        }
        return entries
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks.
    public var trimmed: String {
        let space: Set<Character> = [" ", "\t", "\n", "\r", "\r\n"]  // "\r\n" is one Character
        return String(drop { space.contains($0) }.reversed().drop { space.contains($0) }.reversed())
    }
}
