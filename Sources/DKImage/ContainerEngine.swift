import DKCore

/// The container engine `dkrun build` builds and pushes with: podman or docker, whichever
/// answers (podman first: scripts/base-image.sh puts dkrun's base image in podman's store), or
/// the one DKRUN_CONTAINER_ENGINE names.
public struct ContainerEngine: Sendable {
    public static let names = ["podman", "docker"]
    /// The engine's command.
    public let command: String

    /// The engine to use, and whether it answers. Without DKRUN_CONTAINER_ENGINE and with no
    /// engine answering, the one to name in the commands printed: podman if installed, else docker.
    public static func choose() throws -> (engine: ContainerEngine, answers: Bool) {
        if let named = Files.environment("DKRUN_CONTAINER_ENGINE") {
            guard names.contains(named) else {
                throw FlowError("DKRUN_CONTAINER_ENGINE=\(named): podman or docker expected")
            }
            let engine = ContainerEngine(command: named)
            return (engine, engine.answers())
        }
        if let answering = names.map(ContainerEngine.init).first(where: { $0.answers() }) { return (answering, true) }
        let podmanInstalled = (try? Subprocess.run(["podman", "--version"], timeout: 30))?.status == 0
        return (ContainerEngine(command: podmanInstalled ? "podman" : "docker"), false)
    }

    func answers() -> Bool {
        (try? Subprocess.run([command, "info"], timeout: 30))?.status == 0
    }

    /// - Parameter offline: with no network during the build (`dkrun build --offline`).
    public func buildCommand(image: String, options: [String], offline: Bool, contextDirectory dir: String) -> [String] {
        [command, "build", "-t", image] + (offline ? ["--network", "none"] : []) + options + [dir]
    }

    /// Pushes with the engine's own login (`podman login`, `REGISTRY_AUTH_FILE`; `docker login`)
    /// and trust of the registry's certificate (its certs.d directories).
    public func pushCommand(image: String) -> [String] { [command, "push", image] }

    /// The registry an image name pushes to: its first part when that names a host (a '.' or a
    /// ':' in it, or localhost), else Docker Hub.
    public static func registry(of image: String) -> String {
        guard let slash = image.firstIndex(of: "/") else { return "docker.io" }
        let first = image[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost" ? String(first) : "docker.io"
    }
}
