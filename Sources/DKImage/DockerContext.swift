import DKCore
import Foundation

/// What goes into a flow's image: dkrun and the Swift runtime it links, the Python bridge
/// (python/dkrun_dask, which brings Dask), the flow's python_dependencies, files and
/// env_vars, on its base image (a Debian 12 Python by default, like the machine dkrun is
/// built on, so the copied binaries find their libraries).
public struct DockerContext {
    static let defaultBase = "python:3.11-slim-bookworm"
    /// The Debian packages of the C libraries dkrun links.
    static let runtimePackages = ["liblua5.4-0", "libyaml-0-2", "libcurl4", "libedit2", "libsqlite3-0"]

    /// The image's name and tag (`FlowImage.built`).
    public let image: String
    /// Whether `docker push` follows the build (a registry is named, and not local_image).
    public let pushes: Bool
    let base: String
    let dockerfile: String?
    let pythonDependencies: [String]
    let envVars: [(String, String)]
    /// (source on this machine, destination in the image)
    let files: [(String, String)]
    /// Whether the image checks that dkrun and the bridge run in it (not ignore_healthchecks).
    let healthcheck: Bool
    /// `docker build`'s options, from Docker storage's build_kwargs.
    let buildOptions: [String]

    /// - Parameter scriptDirectory: where the flow's relative paths (dockerfile, files) start.
    public init(flow: FlowSpec, scriptDirectory: String) throws {
        guard let source = try FlowImage.buildSource(flow), let image = try FlowImage.built(flow) else {
            throw FlowError("flow '\(flow.name)' has no image to build: give it Docker storage (registry_url, image_name, "
                + "image_tag) or a DaskOnKubernetesEnvironment")
        }
        self.image = image
        pushes = !(source["registry_url"]?.stringValue ?? "").isEmpty && source["local_image"] != true
        base = source["base_image"]?.stringValue ?? Self.defaultBase
        dockerfile = try source["dockerfile"]?.stringValue.map {
            String(decoding: try Files.read(Files.join(scriptDirectory, $0), limit: .source), as: UTF8.self)
        }
        pythonDependencies = source["python_dependencies"]?.arrayValue?.compactMap(\.stringValue) ?? []
        envVars = (source["env_vars"]?.textMap ?? [:]).map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        files = (source["files"]?.textMap ?? [:]).map { (Files.join(scriptDirectory, $0.key), $0.value) }.sorted { $0.1 < $1.1 }
        for (from, _) in files where Files.kind(from) == nil {
            throw FlowError("flow '\(flow.name)': files names \(from), which does not exist")
        }
        healthcheck = source["ignore_healthchecks"] != true
        buildOptions = try Self.buildOptions(source["build_kwargs"])
    }

    /// The command that builds the image from the context written to `dir`.
    public func buildCommand(contextDirectory dir: String) -> [String] {
        ["docker", "build", "-t", image] + buildOptions + [dir]
    }

    /// build_kwargs (docker-py's names, which Prefect 1 passes on) as `docker build` options.
    static func buildOptions(_ given: Value?) throws -> [String] {
        // {} reaches here as an empty list
        guard let kwargs = given?.mapValue ?? (given?.arrayValue?.isEmpty != false ? [:] : nil) else {
            throw FlowError("Docker.build_kwargs: a table of options expected, got a list")
        }
        var options: [String] = []
        for (key, value) in kwargs.sorted(by: { ($0.key.stringValue ?? "") < ($1.key.stringValue ?? "") }) {
            let name = key.stringValue ?? "?"
            func bad(_ expected: String) -> FlowError {
                FlowError("Docker.build_kwargs.\(name): \(expected) expected, got \(value.typeNameWithArticle)")
            }
            switch name {
            case "buildargs", "labels":
                let entries = value.mapValue ?? (value.arrayValue?.isEmpty == true ? [:] : nil)
                guard let entries, entries.count == value.textMap.count else { throw bad("a table of strings") }
                let flag = name == "buildargs" ? "--build-arg" : "--label"
                options += value.textMap.sorted { $0.key < $1.key }.flatMap { [flag, "\($0.key)=\($0.value)"] }
            case "nocache", "pull":
                guard let on = value.boolValue else { throw bad("a boolean") }
                if on { options.append(name == "nocache" ? "--no-cache" : "--pull") }
            case "network_mode", "platform", "target":
                guard let text = value.stringValue else { throw bad("a string") }
                options += [name == "network_mode" ? "--network" : "--" + name, text]
            default:
                throw FlowError("Docker.build_kwargs.\(name): dkrun build passes on buildargs, labels, network_mode, nocache, "
                    + "platform, pull and target")
            }
        }
        return options
    }

    var dockerfileText: String {
        var lines = [dockerfile ?? "FROM \(base)"]
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends \(Self.runtimePackages.joined(separator: " ")) "
                     + "&& rm -rf /var/lib/apt/lists/*")
        lines += ["COPY lib/ /usr/local/lib/dkrun/", "ENV LD_LIBRARY_PATH=/usr/local/lib/dkrun",
                  "COPY dkrun /usr/local/bin/dkrun", "COPY python/ /opt/dkrun/python/",
                  "RUN pip install --no-cache-dir /opt/dkrun/python "
                    + pythonDependencies.map { "'\($0)'" }.joined(separator: " "),
                  "ENV DKRUN_PYTHON=/usr/local/bin/python"]
        lines += envVars.map { "ENV \($0.0)=\(JSON.encode(.text($0.1)))" }
        lines += files.enumerated().map { "COPY files/\($0.offset) \($0.element.1)" }
        if healthcheck {
            // What breaks a dkrun image: a base whose C libraries dkrun cannot use, a bridge that does not import.
            lines.append("RUN dkrun --version && python -c 'import dkrun_dask.driver'")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the context (Dockerfile, dkrun and its libraries, the bridge, the files) into `dir`.
    public func write(to dir: String) throws {
        let fm = FileManager.default
        for sub in ["lib", "python", "files"] { try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        try Files.write(dir + "/Dockerfile", Array(dockerfileText.utf8))
        try replace(dir + "/dkrun", with: Files.executablePath)
        for lib in try swiftRuntime() { try replace(dir + "/lib/" + (lib.split(separator: "/").last.map(String.init) ?? lib), with: lib) }
        guard let bridge = Self.pythonBridge() else {
            throw FlowError("the Python bridge (python/dkrun_dask) is not next to this dkrun: build from a dkrun checkout or an installed dkrun")
        }
        try replace(dir + "/python/pyproject.toml", with: bridge + "/pyproject.toml")
        if fm.fileExists(atPath: dir + "/python/dkrun_dask") { try fm.removeItem(atPath: dir + "/python/dkrun_dask") }
        try fm.createDirectory(atPath: dir + "/python/dkrun_dask", withIntermediateDirectories: true)
        for name in try Files.list(bridge + "/dkrun_dask") where name.hasSuffix(".py") {
            try replace(dir + "/python/dkrun_dask/" + name, with: bridge + "/dkrun_dask/" + name)
        }
        for (i, (from, _)) in files.enumerated() { try replace(dir + "/files/\(i)", with: from) }
    }

    private func replace(_ path: String, with source: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        try fm.copyItem(atPath: source, toPath: path)
    }

    /// The shared libraries of the Swift toolchain dkrun links (the Debian ones come from apt).
    private func swiftRuntime() throws -> [String] {
        let r = try Subprocess.run(["ldd", Files.executablePath], timeout: 30)
        return String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            guard let arrow = line.range(of: "=> ") else { return nil }
            let path = String(line[arrow.upperBound...].split(separator: " ")[0])
            return path.hasPrefix("/lib") || path.hasPrefix("/usr/lib") ? nil : path
        }
    }

    /// python/ of the checkout this dkrun was built in, or its copy in an installed dkrun's share/dkrun.
    static func pythonBridge() -> String? {
        Product.findBesideExecutable(["python/dkrun_dask", "share/dkrun/python/dkrun_dask"]) { Files.kind($0) == "directory" }
            .map(Files.directory(of:))
    }
}
