import DKKube

/// Reading a kubeconfig file (YAML, then contexts, clusters, users, credentials, exec
/// plugins), as KUBECONFIG names it. Files a kubeconfig names are read relative to /dev/fd.
enum KubeConfigFuzz {
    static func run(_ input: [UInt8]) {
        _ = ScratchFile.hold(input)
        _ = try? KubeConfig.load(environment: ["KUBECONFIG": ScratchFile.path])
    }
}
