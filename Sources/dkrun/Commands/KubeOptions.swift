import ArgumentParser
import DKCore
import DKKube
import FoundationEssentials

/// Where the Kubernetes API is: the options every command that talks to it shares.
struct KubeOptions: ParsableArguments {
    @Option(help: "The kubeconfig file (default: KUBECONFIG, else ~/.kube/config; in a pod, its service account).")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context (default: its current context).")
    var context: String?

    @Option(name: .shortAndLong, help: "The namespace (default: the context's).")
    var namespace: String?

    /// The configuration; its errors are bad input, naming what is wrong.
    func load() throws -> KubeConfig { try Self.load(kubeconfig: kubeconfig, context: context, namespace: namespace) }

    static func load(kubeconfig: String? = nil, context: String? = nil, namespace: String? = nil) throws -> KubeConfig {
        var environment = ProcessInfo.processInfo.environment
        if let kubeconfig { environment["KUBECONFIG"] = kubeconfig }
        return try KubeConfig.load(environment: environment, context: context, namespace: namespace)
    }
}
