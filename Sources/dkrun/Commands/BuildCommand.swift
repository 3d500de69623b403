import ArgumentParser
import DKCore
import DKImage
#if canImport(Glibc)
import Glibc
#endif

/// `dkrun build FLOW.lua`: the build context of the flow's image (Docker storage, or
/// DaskOnKubernetesEnvironment's image fields), built and pushed when podman or docker answers,
/// its output streamed as it comes.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Write the build context of a flow's image (dkrun's base image, python_dependencies, files, env_vars, dkrun), "
            + "and build and push it when podman or docker answers (DKRUN_CONTAINER_ENGINE chooses).")

    @OptionGroup var flow: FlowOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the build context.", valueName: "DIR"))
    var output = "dkrun-build"

    @Flag(name: .customLong("no-push"), help: "Build, but do not push to the registry.")
    var noPush = false

    @Option(help: ArgumentHelp("Build with no network: pip installs from the wheels in DIR only (pip download -d DIR ...).",
                               valueName: "WHEELHOUSE"))
    var offline: String?

    func run() throws {
        let loaded = try LoadedFlow(flow)
        let engine = try ContainerEngine.choose()
        let context = try DockerContext(flow: loaded.spec, scriptDirectory: Files.directory(of: flow.script), wheelhouse: offline)
        do {
            try context.write(to: output)
        } catch {
            throw CommandError.failure("cannot write the build context to \(output): \(error)")
        }
        print("build context for \(context.image) written to \(output)")
        let build = engine.engine.buildCommand(image: context.image, options: context.buildOptions, offline: offline != nil,
                                               contextDirectory: output)
        let push = context.pushes && !noPush ? engine.engine.pushCommand(image: context.image) : nil
        guard engine.answers else {
            print("neither podman nor docker answers here; build the image with:")
            for c in [build] + (push.map { [$0] } ?? []) { print("  " + c.joined(separator: " ")) }
            return
        }
        try stream(build) { "\(build.prefix(2).joined(separator: " ")) failed (exit code \($0))" }
        if let push {
            let tool = engine.engine.command
            try stream(push) {
                "pushing \(context.image) failed (\(tool) push, exit code \($0), its error above): \(tool) pushes with its own "
                    + "login and trust: log in first (\(tool) login \(ContainerEngine.registry(of: context.image))) and, for a "
                    + "certificate from a CA of your own, trust the CA (docs/kubernetes.md, Pushing to a private registry)"
            }
        }
        print("built \(context.image)" + (push != nil ? " and pushed it" : ""))
    }

    /// Runs an engine's command, which writes to dkrun's own stdout and stderr, line by line as
    /// it goes, after what dkrun printed; a failure is `failed(exit code)`.
    private func stream(_ command: [String], failed: (Int32) -> String) throws {
        print("$ " + command.joined(separator: " "))
        fflush(stdout)
        let ending = try Subprocess.wait(try Subprocess.spawn(command, stdio: [-1, -1, -1]))
        if ending.status != 0 { throw CommandError.failure(failed(ending.status)) }
    }
}
