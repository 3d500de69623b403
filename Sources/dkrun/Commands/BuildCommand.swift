import ArgumentParser
import DKCore
import DKImage
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
        let context = try DockerContext(flow: loaded.spec, scriptDirectory: Files.directory(of: flow.script))
        do {
            try context.write(to: output)
        } catch {
            throw CommandError.failure("cannot write the build context to \(output): \(error)")
        }
        print("build context for \(context.image) written to \(output)")
        var commands = [context.buildCommand(contextDirectory: output)]
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
            if r.status != 0 { throw CommandError.failure("\(c.prefix(2).joined(separator: " ")) failed (exit code \(r.status))") }
        }
    }

    private func engineAnswers() -> Bool {
        (try? Subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout: 15))?.status == 0
    }
}
