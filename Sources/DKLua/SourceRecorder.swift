import DKCore

/// Where a flow's Lua sources come from: a script on disk, or a payload (a worker or a
/// thread rebuilding the flow, with no file system access for sources).
public enum FlowSources {
    case script(path: String, searchPath: ModuleSearchPath)
    case payload(Payload)
}

/// Finds the sources a flow script loads (the script, the modules it `require`s, the spec
/// files it reads) and records each, so that the payload carries them all and a rebuild
/// reads them from there.
public final class SourceRecorder {
    public let origin: FlowSources
    /// The script and every module and file it loaded, for the payload.
    public private(set) var script: SourceFile?
    public private(set) var modules: [String: SourceFile] = [:]
    public private(set) var files: [String: [UInt8]] = [:]

    init(_ origin: FlowSources) { self.origin = origin }

    /// The script's directory, absolute; nil for a payload's.
    public var scriptDirectory: String? {
        guard case .script(let path, let searchPath) = origin else { return nil }
        let directory = Files.directory(of: path)
        return directory == "." ? searchPath.base : searchPath.resolved(directory)
    }

    /// The script's source, recorded.
    func loadScript() throws -> SourceFile {
        let file: SourceFile
        switch origin {
        case .script(let path, let searchPath): file = SourceFile(chunkName: path, text: try Files.read(searchPath.resolved(path), limit: .source))
        case .payload(let payload): file = payload.script
        }
        script = file
        return file
    }

    /// A payload for the flow: its description, the parameter values and every source.
    public func payload(for flow: FlowSpec, parameters: [String: Value]) -> Payload {
        Payload(flow: flow, parameters: parameters, script: script ?? SourceFile(chunkName: "?", text: []),
                modules: modules, files: files)
    }

    /// The places `require` looked in for a module it did not find, as Lua lists them.
    struct ModuleNotFound: Error { let searched: String }

    /// The source of a module, recorded for the payload; or nil and the places searched.
    func findModule(_ name: String) -> Result<SourceFile, ModuleNotFound> {
        if let known = modules[name] { return .success(known) }
        let found: Result<SourceFile, ModuleNotFound>
        switch origin {
        case .payload(let payload):
            if let file = payload.modules[name] {
                found = .success(file)
            } else if name.hasPrefix("dk."), let stdlib = ModuleSearchPath.standardLibrary {
                // The standard library ships with every dkrun, so a task may load it lazily.
                found = Self.load(name, from: ModuleSearchPath(directories: [stdlib]))
            } else {
                found = .failure(ModuleNotFound(searched: "no module '\(name)' in the flow's payload"))
            }
        case .script(_, let searchPath):
            found = Self.load(name, from: searchPath)
        }
        if case .success(let file) = found { modules[name] = file }
        return found
    }

    private static func load(_ name: String, from searchPath: ModuleSearchPath) -> Result<SourceFile, ModuleNotFound> {
        guard let path = searchPath.find(name) else {
            return .failure(ModuleNotFound(searched: searchPath.candidates(for: name).map { "no file '\($0)'" }.joined(separator: "\n\t")))
        }
        do {
            return .success(SourceFile(chunkName: path, text: try Files.read(searchPath.resolved(path), limit: .source)))
        } catch {
            return .failure(ModuleNotFound(searched: "\(error)"))
        }
    }

    /// A file the script reads while building its flow (a Pod spec), relative to its directory.
    func readFile(_ path: String) throws -> [UInt8] {
        if let known = files[path] { return known }
        let bytes: [UInt8]
        switch origin {
        case .payload(let payload):
            guard let recorded = payload.files[path] else { throw PayloadError("\(path): not in the flow's payload") }
            bytes = recorded
        case .script(let script, let searchPath):
            bytes = try Files.read(searchPath.resolved(Files.join(Files.directory(of: script), path)), limit: .source)
        }
        files[path] = bytes
        return bytes
    }
}
