import ArgumentParser
import DKCore
import DKImage
import Foundation

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
        var commands = [engine.engine.buildCommand(image: context.image, options: context.buildOptions, offline: offline != nil,
                                                   contextDirectory: output)]
        if context.pushes && !noPush { commands.append(engine.engine.pushCommand(image: context.image)) }
        guard engine.answers else {
            print("neither podman nor docker answers here; build the image with:")
            for c in commands { print("  " + c.joined(separator: " ")) }
            return
        }
        for c in commands {
            print("$ " + c.joined(separator: " "))
            // The engine writes to dkrun's own stdout and stderr, line by line as it goes, after what dkrun printed.
            fflush(stdout)
            let ending = try Subprocess.wait(try Subprocess.spawn(c, stdio: [-1, -1, -1]))
            if ending.status != 0 { throw CommandError.failure("\(c.prefix(2).joined(separator: " ")) failed (exit code \(ending.status))") }
        }
        print("built \(context.image)" + (commands.count > 1 ? " and pushed it" : ""))
    }
}
