import DKCore
import DKTestSupport
import Foundation
import Testing

/// Whether podman is installed here (scripts/setup.sh installs it).
let podmanInstalled = (try? Subprocess.run(["podman", "--version"]))?.status == 0

/// Writes a wheel of a one-module project, dkrun_probe (VALUE = 42), into `dir`: a package pip
/// installs from a wheelhouse, which no image has unless it was asked for.
func writeProbeWheel(into dir: String) throws {
    let script = """
        import base64, hashlib, sys, zipfile
        files = {"dkrun_probe/__init__.py": "VALUE = 42\\n",
                 "dkrun_probe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: dkrun-probe\\nVersion: 1.0\\n",
                 "dkrun_probe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: dkrun-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
        def digest(text):
            return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record = "".join(f"{name},sha256={digest(text)},{len(text.encode())}\\n" for name, text in files.items())
        files["dkrun_probe-1.0.dist-info/RECORD"] = record + "dkrun_probe-1.0.dist-info/RECORD,,\\n"
        with zipfile.ZipFile(sys.argv[1] + "/dkrun_probe-1.0-py3-none-any.whl", "w") as wheel:
            for name, text in files.items():
                wheel.writestr(name, text)
        """
    let r = CLI.Result(try Subprocess.run(["python3", "-c", script, dir]))
    try #require(r.status == 0, "\(r.stderr)")
}

/// `dkrun build` with podman on dkrun's base image (BaseImageTests makes it once): flow images
/// built with no network from a wheelhouse, that rebuild only their dkrun layers for a new
/// dkrun, on dkrun's base or another. (The seeds' image, its stdlib, dashboard and
/// EXTRA_PIP_PACKAGES: ContainerSeedFlowTests, which builds it once and runs the seeds on it.)
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: podmanInstalled, "podman is not installed (scripts/setup.sh)"))
struct ImageBuildTests {
    /// dkrun build, as CLI.run, with podman's configuration for this machine, in a directory of
    /// its own (conmon leaves files in its working directory); `binary` is the dkrun that builds.
    static func build(_ arguments: [String], binary: String = CLI.binary, environment: [String: String] = [:]) throws -> CLI.Result {
        let dir = try TempDir()
        let env = CLI.environment(BaseImageTests.podmanConfiguration.merging(environment) { $1 })
        return CLI.Result(try Subprocess.run([binary, "build"] + arguments, environment: env.map { "\($0.key)=\($0.value)" },
                                             directory: dir.path, timeout: 600))
    }

    /// Removes what builds left in podman's store: the images tagged, then those of each step
    /// (podman keeps them as its cache: "--> ID"), the last first; the base image stays.
    static func removeImages(tagged tags: [String], builtBy outputs: [CLI.Result]) {
        _ = try? BaseImageTests.podman(["rmi"] + tags)
        let steps = outputs.flatMap { $0.stdout.matches(of: #/\n--> (?:Using cache )?([0-9a-f]{11,64})\n/#).map { String($0.1) } }
        for id in steps.reversed() { _ = try? BaseImageTests.podman(["rmi", id]) }
    }

    @Test func aNewDkrunRebuildsOnlyTheLayersAfterThePythonPackages() throws {
        try BaseImageTests.makeImageUnlessMade()
        let wheelhouse = try TempDir()
        try writeProbeWheel(into: wheelhouse.path)
        let tag = String(UUID4.make().prefix(8))
        let image = "dkrun-tests/layers:\(tag)"
        let flow = try TempDir(["flow.lua": """
            local t = task("t", function() return 1 end)
            return Flow("layers", { storage = Docker { image_name = "dkrun-tests/layers", image_tag = "\(tag)",
              python_dependencies = { "dkrun-probe" }, env_vars = { FLOW_ENV = "1" } } }, function() t() end)
            """])
        let first = try Self.build([flow.file("flow.lua"), "-o", flow.file("ctx"), "--offline", wheelhouse.path])
        var builds = [first]
        defer { Self.removeImages(tagged: [image], builtBy: builds) }
        try #require(first.status == 0, "\(first.stdout)\(first.stderr)")

        // Another dkrun: this one with bytes after its end, which change its file and not what it does.
        // In this checkout's .build, so that it finds the stdlib as the tested one does.
        let other = CLI.repoRoot + "/.build/image-tests-\(tag)"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.copyItem(atPath: CLI.binary, toPath: other + "/dkrun")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: other + "/dkrun"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("a new dkrun".utf8))
        try handle.close()
        let second = try Self.build([flow.file("flow.lua"), "-o", flow.file("ctx"), "--offline", wheelhouse.path], binary: other + "/dkrun")
        builds.append(second)
        try #require(second.status == 0, "\(second.stdout)\(second.stderr)")

        /// Each step of podman's output, and whether it came from the cache.
        func steps(_ output: String) -> [(step: String, cached: Bool)] {
            output.components(separatedBy: "\nSTEP ").dropFirst().map {
                (String($0.prefix { $0 != "\n" }), $0.contains("\n--> Using cache "))
            }
        }
        let rebuilt = steps(second.stdout)
        let pip = try #require(rebuilt.firstIndex { $0.step.contains("pip install") && $0.step.contains("'dkrun-probe'") }, "\(second.stdout)")
        let binary = try #require(rebuilt.firstIndex { $0.step.hasSuffix("COPY dkrun /usr/local/bin/dkrun") }, "\(second.stdout)")
        #expect(pip < binary)
        #expect(rebuilt[1...pip].allSatisfy { $0.cached }, "every step after FROM: \(second.stdout)")
        #expect(!rebuilt[binary].cached, "\(second.stdout)")
        #expect(!steps(first.stdout)[pip].cached, "the first build installed the package: \(first.stdout)")
    }

    /// `dkrun build` pushes the seed's flow image to a private registry (TLS from a CA of the
    /// test's, htpasswd) set up as a user would (docs/kubernetes.md): the CA in the user's
    /// certs.d, `podman login` keeping the credentials in REGISTRY_AUTH_FILE. Before the login
    /// the registry refuses the push, and dkrun says so; after it, the pushed image is pulled back.
    @Test func theSeedsFlowImageIsPushedToAPrivateRegistryOnceLoggedIn() throws {
        try BaseImageTests.makeImageUnlessMade()
        let registry = try RegistryTestServer()
        defer { registry.stop() }
        let home = try TempDir()  // the user's HOME
        let certs = home.file(".config/containers/certs.d/\(registry.address)")
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: registry.ca.cert, toPath: certs + "/ca.crt")
        let user = ["HOME": home.path, "REGISTRY_AUTH_FILE": home.file("auth.json")]
        let podman = { (arguments: [String]) in
            CLI.Result(try Subprocess.run(["podman"] + arguments, environment: CLI.environment(BaseImageTests.podmanConfiguration
                .merging(user) { $1 }).map { "\($0.key)=\($0.value)" }, directory: home.path, timeout: 300))
        }
        let examples = CLI.repoRoot + "/examples/"
        let flow = try String(contentsOfFile: examples + "custom_worker_spec.lua", encoding: .utf8)
            .replacingOccurrences(of: #"registry_url = "gcr.io/dev/""#, with: #"registry_url = "\#(registry.address)/dev/""#)
            // An image of its own (the seed's, ContainerSeedFlowTests', has the same layers
            // otherwise, and this test removes its layers by id).
            .replacingOccurrences(of: #"image_tag = "0.1.0" }"#, with: #"image_tag = "0.1.0", env_vars = { PUSHED_BY = "ImageBuildTests" } }"#)
        let flows = try TempDir(["flow.lua": flow, "worker_spec.yaml": try String(contentsOfFile: examples + "worker_spec.yaml", encoding: .utf8)])
        let image = "\(registry.address)/dev/dask-k8s-flow:0.1.0"
        let arguments = [flows.file("flow.lua"), "-o", flows.file("ctx"), "--offline", CLI.repoRoot + "/.build/base-image/wheels"]

        try "{}".write(toFile: user["REGISTRY_AUTH_FILE"]!, atomically: true, encoding: .utf8)  // no login yet
        let refused = try Self.build(arguments, environment: user)
        var builds = [refused]
        defer { Self.removeImages(tagged: [image], builtBy: builds) }
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.lines.contains("$ podman push \(image)"), "\(refused.stdout)")
        #expect(refused.stderr.contains("authentication required"), "podman's own error: \(refused.stderr)")
        #expect(refused.stderr.contains("dkrun: error: pushing \(image) failed (podman push, exit code ")
                && refused.stderr.contains("log in first (podman login \(registry.address))"), "\(refused.stderr)")

        let login = try podman(["login", "-u", registry.username, "-p", registry.password, registry.address])
        try #require(login.status == 0, "\(login.stderr)")
        let pushed = try Self.build(arguments, environment: user)
        builds.append(pushed)
        #expect(pushed.status == 0, "\(pushed.stdout)\(pushed.stderr)")
        #expect(pushed.lines.contains("$ podman push \(image)") && pushed.lines.last == "built \(image) and pushed it", "\(pushed.stdout)")
        try #require(try podman(["rmi", image]).status == 0)
        let pulled = try podman(["pull", "--quiet", image])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try podman(["image", "exists", image]).status == 0)
    }

    @Test func onAnyOtherBaseTheImageGetsTheInstalledLayout() throws {
        try BaseImageTests.makeImageUnlessMade()
        // A base dkrun does not take for its own (any name but dkrun/dkrun) which has Debian's
        // python3 and the C libraries already, as apt cannot run offline: dkrun's base, renamed.
        // The wheelhouse base-image.sh made it from has the bridge's wheel and runtime-requirements.txt's.
        let tag = String(UUID4.make().prefix(8))
        let base = "localhost/dkrun-tests/plain:\(tag)", image = "dkrun-tests/other-base:\(tag)"
        let wheelhouse = CLI.repoRoot + "/.build/base-image/wheels"
        try #require(Files.kind(wheelhouse) == "directory", "scripts/base-image.sh keeps its wheelhouse in \(wheelhouse)")
        try #require(try BaseImageTests.podman(["tag", BaseImageTests.image, base]).status == 0)
        defer { _ = try? BaseImageTests.podman(["rmi", base]) }
        let flow = try TempDir(["flow.lua": """
            local t = task("t", function() return 1 end)
            return Flow("other", { storage = Docker { image_name = "dkrun-tests/other-base", image_tag = "\(tag)",
              base_image = "\(base)" } }, function() t() end)
            """])
        let built = try Self.build([flow.file("flow.lua"), "-o", flow.file("ctx"), "--offline", wheelhouse])
        defer { Self.removeImages(tagged: [image], builtBy: [built]) }
        try #require(built.status == 0, "\(built.stdout)\(built.stderr)")
        #expect(built.stdout.contains("RUN echo /usr/local/lib/dkrun > /etc/ld.so.conf.d/dkrun.conf && ldconfig\n"), "\(built.stdout)")
        #expect(built.stdout.contains(": RUN python3 -m venv /usr/local/lib/dkrun/venv && "), "\(built.stdout)")

        let flows = try TempDir(["stdlib.lua": stdlibFlow])
        let run = try BaseImageTests.podman(["run", "--rm", "--network", "none", "-v", flows.path + ":/flows:ro", image,
                                             "dkrun", "/flows/stdlib.lua", "--executor", "dask"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(#"json: {"n":42}"#), "\(run.stdout)")
    }

    @Test func badEngineAndWheelhouseAreBadInput() throws {
        let dir = try TempDir(["flow.lua": """
            return Flow("f", { storage = Docker { image_name = "f", image_tag = "1", python_dependencies = { "Not_There>=1" } } })
            """])
        let engine = try Self.build([dir.file("flow.lua"), "-o", dir.file("ctx")], environment: ["DKRUN_CONTAINER_ENGINE": "rkt"])
        #expect(engine.status == 2 && engine.stderr.contains("DKRUN_CONTAINER_ENGINE=rkt: podman or docker expected"), "\(engine.stderr)")
        let missing = try Self.build([dir.file("flow.lua"), "-o", dir.file("ctx"), "--offline", dir.file("wheels")])
        #expect(missing.status == 2 && missing.stderr.contains("--offline \(dir.file("wheels")): no such directory"), "\(missing.stderr)")
        let wheels = try TempDir()
        try writeProbeWheel(into: wheels.path)
        let noWheel = try Self.build([dir.file("flow.lua"), "-o", dir.file("ctx"), "--offline", wheels.path])
        #expect(noWheel.status == 2, "\(noWheel.stderr)")
        #expect(noWheel.stderr.contains("no wheel of 'Not_There>=1' (python_dependencies) in the wheelhouse"), "\(noWheel.stderr)")

        // No engine on PATH: the commands to run, named for docker.
        let none = try Self.build([dir.file("flow.lua"), "-o", dir.file("ctx"), "--no-push"], environment: ["PATH": wheels.path])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.lines.suffix(2) == ["neither podman nor docker answers here; build the image with:",
                                         "  docker build -t f:1 \(dir.file("ctx"))"], "\(none.stdout)")
    }
}
