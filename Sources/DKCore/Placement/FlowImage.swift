/// The one decision of which container image a flow's run uses, and which image
/// `dkrun build` makes for it.
public enum FlowImage {
    /// The image when the flow names none: DKRUN_IMAGE, else dkrun's base image of this version
    /// (scripts/base-image.sh makes it; a name with no registry, as a local image store has it).
    public static var defaultImage: String {
        Files.environment("DKRUN_IMAGE") ?? "dkrun/dkrun:\(Product.version)"
    }

    /// The configuration object that describes an image to build: Docker storage, or a
    /// DaskOnKubernetesEnvironment (which carries Prefect's image fields itself); not both.
    public static func buildSource(_ flow: FlowSpec) throws -> Value? {
        let storage = flow.configuration["storage"], environment = flow.configuration["environment"]
        switch (storage?["type"] == "Docker", environment?["type"] == "DaskOnKubernetesEnvironment") {
        case (true, true):
            throw FlowError("Docker: flow '\(flow.name)' has a DaskOnKubernetesEnvironment, whose fields describe its image "
                + "already: describe it there, or in the Docker storage with a KubernetesRun")
        case (true, false): return storage
        case (false, true): return environment
        case (false, false): return nil
        }
    }

    /// The image `dkrun build` makes: registry_url/image_name:image_tag of the build source,
    /// the name defaulting to the flow's name and the tag to its DAG's hash.
    public static func built(_ flow: FlowSpec) throws -> String? {
        guard let source = try buildSource(flow) else { return nil }
        let name = source["image_name"]?.stringValue ?? KubeNames.dnsName(flow.name, dots: true)
        let tag = source["image_tag"]?.stringValue ?? String(Payload.dagHash(flow).prefix(12))
        var registry = source["registry_url"]?.stringValue ?? ""
        while registry.hasSuffix("/") { registry.removeLast() }
        return (registry.isEmpty ? "" : registry + "/") + name + ":" + tag
    }

    /// The image the run's Job and Dask pods use: KubernetesRun's image, else the built one,
    /// else the default.
    public static func forRun(_ flow: FlowSpec, defaultImage: String = FlowImage.defaultImage) throws -> String {
        try flow.configuration["run_config"]?["image"]?.stringValue ?? built(flow) ?? defaultImage
    }
}

/// Names as Kubernetes (and image registries) accept them.
public enum KubeNames {
    /// A DNS-1123 name made from any text: lower case letters, digits and '-', anything else
    /// '-', no '-' at either end: DOCKER_REGISTRY_CREDENTIALS is docker-registry-credentials.
    /// A label (a pod's name) has at most 63 characters; with `dots`, a subdomain (a
    /// secret's name, an image's) keeps its '.' and has at most 253.
    public static func dnsName(_ text: String, dots: Bool = false) -> String {
        let mapped = String(text.lowercased().map {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || (dots && $0 == ".")) ? $0 : "-"
        })
        return String(mapped.drop { $0 == "-" }.prefix(dots ? 253 : 63).reversed().drop { $0 == "-" }.reversed())
    }
}
