import ArgumentParser
import DKCore
import DKKube
import Foundation

/// `dkrun build FLOW.lua`: the Docker build context of the flow's image (Docker storage, or
/// DaskOnKubernetesEnvironment's image fields), built and pushed when a Docker engine answers.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Write the Docker build context of a flow's image (dkrun, the Python bridge, python_dependencies, files, env_vars), and build and push it when a Docker engine answers.")

    @OptionGroup var flow: FlowOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the build context.", valueName: "DIR"))
    var output = "dkrun-build"

    @Flag(name: .customLong("no-push"), help: "Build, but do not push to the registry.")
    var noPush = false

    func run() throws {
        let loaded = try LoadedFlow(flow)
        let context: DockerContext
        do {
            context = try DockerContext(flow: loaded.spec, scriptDirectory: Files.directory(of: flow.script))
        } catch {
            throw CLIFailure.badInput("\(error)")
        }
        do {
            try context.write(to: output)
        } catch {
            throw CLIFailure.failure("cannot write the build context to \(output): \(error)")
        }
        print("build context for \(context.image) written to \(output)")
        var commands = [["docker", "build", "-t", context.image, output]]
        if context.pushes && !noPush { commands.append(["docker", "push", context.image]) }
        guard engineAnswers() else {
            print("no Docker engine answers here; build the image with:")
            for c in commands { print("  " + c.joined(separator: " ")) }
            return
        }
        for c in commands {
            print("$ " + c.joined(separator: " "))
            let r = try Subprocess.run(c, timeout: 3600)
            FileHandle.standardOutput.write(Data(r.stdout))
            FileHandle.standardError.write(Data(r.stderr))
            if r.status != 0 { throw CLIFailure.failure("\(c.prefix(2).joined(separator: " ")) failed (exit code \(r.status))") }
        }
    }

    private func engineAnswers() -> Bool {
        (try? Subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout: 15))?.status == 0
    }
}

/// What goes into a flow's image: dkrun and the Swift runtime it links, the Python bridge
/// (python/dkrun_dask, which brings Dask), the flow's python_dependencies, files and
/// env_vars, on its base image (a Debian 12 Python by default, like the machine dkrun is
/// built on, so the copied binaries find their libraries).
struct DockerContext {
    static let defaultBase = "python:3.11-slim-bookworm"
    /// The Debian packages of the C libraries dkrun links.
    static let runtimePackages = ["liblua5.4-0", "libyaml-0-2", "libcurl4", "libedit2"]

    let image: String
    let pushes: Bool
    let base: String
    let dockerfile: String?
    let pythonDependencies: [String]
    let envVars: [(String, String)]
    /// (source on this machine, destination in the image)
    let files: [(String, String)]

    init(flow: FlowSpec, scriptDirectory: String) throws {
        let env = flow.configuration["environment"]
        let storage = flow.configuration["storage"]
        let source = storage?["type"] == "Docker" ? storage : env?["type"] == "DaskOnKubernetesEnvironment" ? env : nil
        guard let source, let image = FlowRunPlan.storageImage(source, flow: flow) else {
            throw FlowError("flow '\(flow.name)' has no image to build: give it Docker storage (registry_url, image_name, "
                + "image_tag) or a DaskOnKubernetesEnvironment")
        }
        self.image = image
        pushes = !(source["registry_url"]?.stringValue ?? "").isEmpty && source["local_image"] != true
        base = source["base_image"]?.stringValue ?? Self.defaultBase
        dockerfile = try source["dockerfile"]?.stringValue.map {
            String(decoding: try Files.read(Files.join(scriptDirectory, $0)), as: UTF8.self)
        }
        pythonDependencies = source["python_dependencies"]?.arrayValue?.compactMap(\.stringValue) ?? []
        envVars = (source["env_vars"]?.mapValue ?? [:]).compactMap { k, v in
            k.stringValue.flatMap { k in v.stringValue.map { (k, $0) } }
        }.sorted { $0.0 < $1.0 }
        files = (source["files"]?.mapValue ?? [:]).compactMap { k, v in
            k.stringValue.flatMap { k in v.stringValue.map { (Files.join(scriptDirectory, k), $0) } }
        }.sorted { $0.1 < $1.1 }
        for (from, _) in files where Files.kind(from) == nil {
            throw FlowError("flow '\(flow.name)': files names \(from), which does not exist")
        }
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
        return lines.joined(separator: "\n") + "\n"
    }

    func write(to dir: String) throws {
        let fm = FileManager.default
        for sub in ["lib", "python", "files"] { try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        try Files.write(dir + "/Dockerfile", Array(dockerfileText.utf8))
        try replace(dir + "/dkrun", with: Files.executablePath)
        for lib in try swiftRuntime() { try replace(dir + "/lib/" + (lib.split(separator: "/").last.map(String.init) ?? lib), with: lib) }
        guard let bridge = Self.pythonBridge() else {
            throw FlowError("the Python bridge (python/dkrun_dask) is not next to this dkrun: build from a dkrun checkout")
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

    /// python/ of the checkout this dkrun was built in.
    static func pythonBridge() -> String? {
        var dir = Files.directory(of: Files.executablePath)
        for _ in 0 ..< 5 {
            if Files.kind(dir + "/python/dkrun_dask") == "directory" { return dir + "/python" }
            dir = Files.directory(of: dir)
        }
        return nil
    }
}
