import DKCore
import DKTestSupport
import Foundation
import Testing

/// A task that needs the standard library, where it runs: what an installed dkrun lacks first
/// when its layout is wrong.
let stdlibFlow = """
    local encode = task("encode", function(n) return require("dk.json").encode({ n = n }) end)
    local show = task("show", function(text) print("json: " .. text) end)
    return Flow("stdlib", function() show(encode(41 + 1)) end)
    """

/// The environment of a user of an installed dkrun: `bin` on PATH, no checkout, no DKRUN_* variable
/// (other than the tests' DKRUN_HOME).
private func userEnvironment(path: String) -> [String] {
    ["PATH=\(path):/usr/local/bin:/usr/bin:/bin", "HOME=\(CLI.home)", "DKRUN_HOME=\(CLI.home)", "LANG=C.UTF-8"]
}

/// scripts/install.sh: dkrun installed in a temporary prefix runs flows, here and on Dask, from
/// a directory that is not the checkout.
@Suite(.timeLimit(.minutes(10))) struct InstallTests {
    @Test func anInstalledDkrunRunsFlowsHereAndOnDask() throws {
        let prefix = try TempDir()
        // The tests' own build: installing it is what install.sh does with a release build.
        let install = CLI.Result(try Subprocess.run([CLI.repoRoot + "/scripts/install.sh", "--prefix", prefix.path,
                                                     "--binary", CLI.binary], timeout: 600))
        try #require(install.status == 0, "\(install.stderr)")

        let work = try TempDir(["hello.lua": try String(contentsOfFile: CLI.repoRoot + "/examples/hello.lua", encoding: .utf8),
                                "stdlib.lua": stdlibFlow])
        // A shell finds dkrun on the user's PATH (Subprocess looks commands up on this process's).
        func dkrun(_ arguments: [String]) throws -> CLI.Result {
            CLI.Result(try Subprocess.run(["/bin/sh", "-c", #"exec dkrun "$@""#, "dkrun"] + arguments,
                                          environment: userEnvironment(path: prefix.path + "/bin"), directory: work.path, timeout: 300))
        }

        let hello = try dkrun(["hello.lua"])
        #expect(hello.status == 0, "\(hello.stderr)")
        #expect(hello.stdout.contains("shout | HELLO, WORLD!"), "\(hello.stdout)")

        // A temporary LocalCluster: the driver is the installed virtualenv's Python, each
        // worker's task server the installed dkrun, whose tasks find the installed stdlib.
        let dask = try dkrun(["stdlib.lua", "--executor", "dask", "--json-events"])
        #expect(dask.status == 0, "\(dask.stderr)")
        #expect(try events(dask.stdout).contains { $0["event"] as? String == "log" && $0["message"] as? String == #"json: {"n":42}"# },
                "\(dask.stdout)")
        let workers = Set(try events(dask.stdout).compactMap { $0["worker"] as? String })
        #expect(!workers.isEmpty, "the tasks ran on Dask workers")

        // bash, having read the completion script, completes dkrun.
        let completion = CLI.Result(try Subprocess.run(["/bin/bash", "-c", #"source "$1" && complete -p dkrun"#, "bash",
                                                        prefix.path + "/share/bash-completion/completions/dkrun"]))
        #expect(completion.status == 0 && completion.stdout.hasSuffix(" dkrun\n"), "\(completion.stdout)\(completion.stderr)")
    }
}

/// scripts/base-image.sh: dkrun's base image runs a flow, here and on Dask. The image is made
/// (with this build's dkrun; 90 to 125 s cold, docs/install.md) only when podman's store does
/// not have dkrun/dkrun:VERSION yet.
@Suite(.timeLimit(.minutes(10))) struct BaseImageTests {
    static let image = "dkrun/dkrun:" + Product.version
    /// podman's configuration for these machines (scripts/containers.conf), for every test that runs podman.
    static let podmanConfiguration = ["CONTAINERS_CONF": CLI.repoRoot + "/scripts/containers.conf"]
    static let environment = ProcessInfo.processInfo.environment.merging(podmanConfiguration) { $1 }.map { "\($0.key)=\($0.value)" }

    static func podman(_ arguments: [String]) throws -> CLI.Result {
        // conmon leaves files in its working directory: a directory of the test's own.
        let dir = try TempDir()
        return CLI.Result(try Subprocess.run(["podman"] + arguments, environment: environment, directory: dir.path, timeout: 600))
    }

    /// Whether the image was made from what is under test: the binary and the files beside it in
    /// the image (base-image.sh's digest of them, which the image's label holds).
    static func imageIsOfWhatIsUnderTest() throws -> Bool {
        let label = try podman(["image", "inspect", "--format", #"{{index .Labels "dkrun.inputs.sha256"}}"#, image])
        let inputs = CLI.Result(try Subprocess.run([CLI.repoRoot + "/scripts/base-image.sh", "--binary", CLI.binary, "--print-inputs-digest"],
                                                   environment: environment, timeout: 60))
        try #require(inputs.status == 0, "\(inputs.stderr)")
        return label.status == 0 && label.stdout == inputs.stdout
    }

    private static let making = NSLock()

    /// Makes the image unless podman's store has it, made from what is under test (once for
    /// every suite that needs it: ImageBuildTests builds flow images on it).
    static func makeImageUnlessMade() throws {
        making.lock()
        defer { making.unlock() }
        if try !imageIsOfWhatIsUnderTest() {
            let made = CLI.Result(try Subprocess.run([CLI.repoRoot + "/scripts/base-image.sh", "--binary", CLI.binary],
                                                     environment: environment, timeout: 600))
            try #require(made.status == 0, "\(made.stderr)")
        }
    }

    @Test func theBaseImageRunsAFlow() throws {
        try Self.makeImageUnlessMade()
        let version = try Self.podman(["run", "--rm", Self.image, "dkrun", "--version"])
        #expect(version.stdout == Product.version + "\n", "\(version.stderr)")

        let flows = try TempDir(["hello.lua": try String(contentsOfFile: CLI.repoRoot + "/examples/hello.lua", encoding: .utf8),
                                 "stdlib.lua": stdlibFlow])
        let hello = try Self.podman(["run", "--rm", "-v", flows.path + ":/flows:ro", Self.image, "dkrun", "/flows/hello.lua"])
        #expect(hello.status == 0, "\(hello.stderr)")
        #expect(hello.stdout.contains("shout | HELLO, WORLD!"), "\(hello.stdout)")
        // On a temporary LocalCluster in the container: the image's virtualenv and stdlib, found by its dkrun.
        let dask = try Self.podman(["run", "--rm", "-v", flows.path + ":/flows:ro", Self.image, "dkrun", "/flows/stdlib.lua",
                                    "--executor", "dask"])
        #expect(dask.status == 0, "\(dask.stderr)")
        #expect(dask.stdout.contains(#"json: {"n":42}"#), "\(dask.stdout)")

        let python = try Self.podman(["run", "--rm", Self.image, "python", "-c", "import distributed, bokeh, dkrun_dask.driver"])
        #expect(python.status == 0, "\(python.stderr)")
    }
}
