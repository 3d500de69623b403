import DKCore
import FoundationEssentials

/// What goes into a flow's image, in the layout of an installed dkrun with PREFIX=/usr/local
/// (scripts/install.sh, as in dkrun's base image): dkrun; the Swift runtime libraries of a
/// dynamically linked dkrun, found through ld.so.conf (a release build has them linked in); the
/// stdlib, the Python bridge's virtualenv with the pinned Dask and bokeh, the entrypoint that
/// honours EXTRA_APT_PACKAGES and EXTRA_PIP_PACKAGES; then the flow's python_dependencies,
/// env_vars and files. On dkrun's base image (the default) the layout is there already; on any
/// other Debian base with python3 the Dockerfile installs it. The layers go from the least to
/// the most often changed: a new dkrun binary is the last one, and does not reinstall Python
/// packages.
public struct DockerContext {
    static let prefix = "/usr/local"
    static let venv = prefix + "/lib/dkrun/venv"
    /// Where an offline build's wheelhouse is in the image while pip reads it.
    static let wheelhouseInImage = "/tmp/dkrun-wheelhouse"
    /// The Debian packages of the C libraries dkrun links, libcurl4, which it opens at its first
    /// HTTP request, and libedit2, which a REPL on a terminal opens.
    static let runtimePackages = ["liblua5.4-0", "libyaml-0-2", "libcurl4", "libedit2", "libsqlite3-0"]

    /// The image's name and tag (`FlowImage.built`).
    public let image: String
    /// Whether a push follows the build (a registry is named, and not local_image).
    public let pushes: Bool
    let base: String
    let dockerfile: String?
    let pythonDependencies: [String]
    let envVars: [(String, String)]
    /// (source on this machine, destination in the image)
    let files: [(String, String)]
    /// Whether the image checks that dkrun and the bridge run in it (not ignore_healthchecks).
    let healthcheck: Bool
    /// The build's options, from Docker storage's build_kwargs.
    public let buildOptions: [String]
    /// The wheelhouse pip installs from, with no index (`dkrun build --offline`).
    public let wheelhouse: String?

    /// - Parameter scriptDirectory: where the flow's relative paths (dockerfile, files) start.
    public init(flow: FlowSpec, scriptDirectory: String, wheelhouse: String? = nil) throws {
        guard let source = try FlowImage.buildSource(flow), let image = try FlowImage.built(flow) else {
            throw FlowError("flow '\(flow.name)' has no image to build: give it Docker storage (registry_url, image_name, "
                + "image_tag) or a DaskOnKubernetesEnvironment")
        }
        self.image = image
        pushes = !(source["registry_url"]?.stringValue ?? "").isEmpty && source["local_image"] != true
        base = source["base_image"]?.stringValue ?? FlowImage.defaultImage
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
        self.wheelhouse = wheelhouse
        if let wheelhouse { try checkWheelhouse(wheelhouse) }
    }

    /// Whether the image is built on dkrun's own base image (dkrun/dkrun, in any registry), which
    /// has the installed layout: not with a dockerfile of the flow's, whose base is its own.
    var onDkrunBase: Bool {
        guard dockerfile == nil else { return false }
        let name = base.split(separator: "@")[0].split(separator: "/").map(String.init)
        return name.suffix(2).first == "dkrun" && name.last?.split(separator: ":").first == "dkrun"
    }

    /// The requirements pip installs from the wheelhouse: each needs a wheel there (what they
    /// depend on, pip checks when it builds).
    private func checkWheelhouse(_ dir: String) throws {
        guard Files.kind(dir) == "directory" else { throw FlowError("--offline \(dir): no such directory (a wheelhouse: pip download -d DIR ...)") }
        let wheels = Set(try Files.list(dir).filter { $0.hasSuffix(".whl") }.map { Self.projectName($0.split(separator: "-")[0]) })
        var needed = pythonDependencies.map { ($0, "python_dependencies") }
        if !onDkrunBase { needed.append(("dkrun-dask", "the Python bridge (pip wheel python, as scripts/base-image.sh does)")) }
        for (requirement, purpose) in needed {
            let name = Self.projectName(requirement.prefix { $0.isLetter || $0.isNumber || "-_.".contains($0) })
            if !wheels.contains(name) {
                throw FlowError("--offline \(dir): no wheel of '\(requirement)' (\(purpose)) in the wheelhouse")
            }
        }
    }

    /// A Python project's name as pip compares them (PEP 503): lower case, runs of -_. one '-'.
    static func projectName<S: StringProtocol>(_ text: S) -> String {
        text.lowercased().replacing(#/[-_.]+/#, with: "-")
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
        let pip = Self.venv + "/bin/pip install --no-cache-dir --disable-pip-version-check"
            + (wheelhouse == nil ? "" : " --no-index --find-links " + Self.wheelhouseInImage)
        var lines = [dockerfile ?? "FROM \(base)"]
        // An offline build's wheels, before pip's first layer: the context's, not the network's.
        let copyWheelhouse = copiesWheelhouse ? ["COPY wheelhouse/ \(Self.wheelhouseInImage)/"] : []
        if onDkrunBase {
            lines += copyWheelhouse
        } else {
            // scripts/install.sh's layout: the C libraries dkrun links (and venv, which Debian's
            // python3 lacks) unless the base has them; the Swift runtime libraries of a
            // dynamically linked dkrun (none for a release build), for every dkrun through
            // ld.so.conf; the bridge's virtualenv.
            let packages = Self.runtimePackages.joined(separator: " ")
            lines += ["RUN missing=$(for p in \(packages); do dpkg -s $p >/dev/null 2>&1 || echo $p; done); "
                        + "python3 -c 'import ensurepip' 2>/dev/null || missing=\"$missing python3-venv\"; "
                        + "if [ -n \"$(echo $missing)\" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                        + "--no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; fi",
                      "COPY lib/ \(Self.prefix)/lib/dkrun/",
                      "RUN echo \(Self.prefix)/lib/dkrun > /etc/ld.so.conf.d/dkrun.conf && ldconfig",
                      "COPY python/ \(Self.prefix)/share/dkrun/python/",
                      "COPY entrypoint.sh \(Self.prefix)/share/dkrun/entrypoint.sh"]
            lines += copyWheelhouse + [
                // Offline, the bridge's wheel: building it would need setuptools.
                "RUN python3 -m venv \(Self.venv) && \(pip) -r \(Self.prefix)/share/dkrun/python/runtime-requirements.txt "
                    + "&& \(pip) --no-deps \(wheelhouse == nil ? Self.prefix + "/share/dkrun/python" : "dkrun-dask")",
                "ENV PATH=\(Self.venv)/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
                "ENTRYPOINT [\"\(Self.prefix)/share/dkrun/entrypoint.sh\"]"]
        }
        if !pythonDependencies.isEmpty {
            lines.append("RUN \(pip) " + pythonDependencies.map { "'\($0)'" }.joined(separator: " "))
        }
        lines += envVars.map { "ENV \($0.0)=\(JSON.encode(.text($0.1)))" }
        lines += files.enumerated().map { "COPY files/\($0.offset) \($0.element.1)" }
        // Last, what changes with every dkrun: its stdlib and binary.
        lines += ["COPY stdlib/ \(Self.prefix)/share/dkrun/stdlib/", "COPY dkrun \(Self.prefix)/bin/dkrun"]
        if healthcheck {
            // What breaks a dkrun image: a base whose C libraries dkrun cannot use, a bridge that does not import.
            lines.append("RUN dkrun --version && python -c 'import dkrun_dask.driver, bokeh'")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether pip runs in an offline build, and needs the wheelhouse in the context.
    private var copiesWheelhouse: Bool { wheelhouse != nil && (!onDkrunBase || !pythonDependencies.isEmpty) }

    /// Writes the context into `dir`: the Dockerfile, dkrun and its stdlib, the files; off
    /// dkrun's base, the Swift runtime libraries, the bridge and the entrypoint too; offline,
    /// the wheelhouse.
    public func write(to dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/files", withIntermediateDirectories: true)
        try Files.write(dir + "/Dockerfile", Array(dockerfileText.utf8))
        try replace(dir + "/dkrun", with: Files.executablePath)
        try replace(dir + "/stdlib", with: try Self.installed("stdlib/dk/json.lua", what: "the Lua stdlib"))
        for (i, (from, _)) in files.enumerated() { try replace(dir + "/files/\(i)", with: from) }
        if let wheelhouse, copiesWheelhouse { try replace(dir + "/wheelhouse", with: wheelhouse) }
        guard !onDkrunBase else { return }
        try fm.createDirectory(atPath: dir + "/lib", withIntermediateDirectories: true)
        for lib in try swiftRuntime() { try replace(dir + "/lib/" + (lib.split(separator: "/").last.map(String.init) ?? lib), with: lib) }
        try replace(dir + "/entrypoint.sh", with: try Self.installed("entrypoint.sh", what: "the image's entrypoint"))
        let bridge = try Self.installed("python/dkrun_dask/driver.py", what: "the Python bridge")
        try fm.createDirectory(atPath: dir + "/python/dkrun_dask", withIntermediateDirectories: true)
        for name in ["pyproject.toml", "runtime-requirements.txt"] { try replace(dir + "/python/" + name, with: bridge + "/" + name) }
        for name in try Files.list(bridge + "/dkrun_dask") where name.hasSuffix(".py") {
            try replace(dir + "/python/dkrun_dask/" + name, with: bridge + "/dkrun_dask/" + name)
        }
    }

    /// What an installed dkrun has in share/dkrun, found in the checkout this dkrun was built in
    /// (python/, stdlib/, share/dkrun/) or in its installation. `marker` is a file in it, under
    /// the name it has in share/dkrun: python/dkrun_dask/driver.py finds python/.
    static func installed(_ marker: String, what: String) throws -> String {
        let name = String(marker.prefix { $0 != "/" })
        guard let found = Product.findBesideExecutable(["share/dkrun/" + marker, marker], where: { Files.kind($0) == "file" }) else {
            throw FlowError("\(what) (share/dkrun/\(name)) is not next to this dkrun: build from a dkrun checkout or an installed dkrun")
        }
        return String(found.dropLast(marker.count - name.count))
    }

    private func replace(_ path: String, with source: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        try fm.copyItem(atPath: source, toPath: path)
    }

    /// The shared libraries of the Swift toolchain dkrun links (the Debian ones come from apt):
    /// none for a release build, which links the Swift runtime in (`--static-swift-stdlib`).
    private func swiftRuntime() throws -> [String] {
        let r = try Subprocess.run(["ldd", Files.executablePath], timeout: 30)
        return String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            guard let arrow = line.firstRange(of: "=> ") else { return nil }
            let path = String(line[arrow.upperBound...].split(separator: " ")[0])
            return path.hasPrefix("/lib") || path.hasPrefix("/usr/lib") ? nil : path
        }
    }
}
