import DKCore

/// The Kubernetes objects a user hands dkrun, checked as what they claim to be before dkrun
/// builds on them: the scheduler's and workers' Pod specs (spec files, `pod_template` tables,
/// the Dask config's worker template) and a KubernetesRun's Job template. A wrong shape would
/// otherwise be dropped without a word or come back late, as the API server's refusal in the
/// middle of a run. Errors are bad input naming where the object came from and the field.
public enum SpecChecks {
    /// The most workers a run's cluster may have: min_workers, max_workers, a worker spec's
    /// replicas, KubeCluster's n_workers and adapt_kwargs' maximum.
    public static let workerLimit = 1000

    /// A Pod spec. Containers without an image get the flow's, and a spec without containers
    /// dkrun's default one (docs/kubernetes.md); init containers must name their image.
    /// - Parameter replicas: whether `spec.replicas` (not a Pod field: a worker spec's size)
    ///   may be there.
    public static func checkPod(_ pod: Value, _ source: String, replicas: Bool) throws {
        let check = Check(source: source)
        try check.object(pod, kind: "Pod")
        guard let spec = pod["spec"] else { return }
        try check.mapping(spec, "spec")
        if let r = spec["replicas"] {
            guard replicas else { throw check.error("spec.replicas", "only a worker spec takes replicas (the cluster's size)") }
            _ = try Numbers.integer(r, "\(source): spec.replicas", in: 1 ... workerLimit)
        }
        try check.containers(of: spec, "spec", imageRule: "dkrun gives the flow's image to containers, not to init containers") {
            list, _ in list == "containers"
        }
    }

    /// A Job template: the first container of its pod runs the flow on the run's image, the
    /// others must name theirs.
    public static func checkJob(_ job: Value, _ source: String) throws {
        let check = Check(source: source)
        try check.object(job, kind: "Job")
        guard let spec = job["spec"] else { return }
        try check.mapping(spec, "spec")
        guard let template = spec["template"] else { return }
        try check.mapping(template, "spec.template")
        guard let podSpec = template["spec"] else { return }
        try check.mapping(podSpec, "spec.template.spec")
        try check.containers(of: podSpec, "spec.template.spec", imageRule: "dkrun gives the run's image to the first container only") {
            list, i in list == "containers" && i == 0
        }
    }

    private struct Check {
        let source: String

        func error(_ field: String, _ problem: String) -> FlowError {
            FlowError("\(source): \(field.isEmpty ? "" : field + ": ")\(problem)")
        }

        /// A mapping of the given kind (apiVersion, metadata and spec are for the API server).
        func object(_ v: Value, kind: String) throws {
            guard v.mapValue != nil else { throw error("", "a YAML mapping (a \(kind)) expected, got \(v.typeNameWithArticle)") }
            guard let given = v["kind"] else { throw error("kind", "\(kind) expected, got nothing") }
            guard given.stringValue == kind else { throw error("kind", "\(kind) expected, got \(JSON.encode(given))") }
            if let m = v["metadata"] { try mapping(m, "metadata") }
        }

        func mapping(_ v: Value, _ field: String) throws {
            guard v.mapValue != nil else { throw error(field, "a mapping expected, got \(v.typeNameWithArticle)") }
        }

        func text(_ v: Value?, _ field: String) throws {
            guard let v else { throw error(field, "a string expected, got nothing") }
            guard case .string = v else { throw error(field, "a string expected, got \(v.typeNameWithArticle)") }
        }

        /// `containers` and `initContainers`: lists of mappings, each with a name, its image
        /// unless `imageGiven` (dkrun sets it, as `imageRule` says), and its command and args
        /// as strings.
        func containers(of podSpec: Value, _ path: String, imageRule: String, imageGiven: (String, Int) -> Bool) throws {
            for list in ["containers", "initContainers"] {
                guard let v = podSpec[list] else { continue }
                guard let items = v.arrayValue else { throw error("\(path).\(list)", "a list of containers expected, got \(v.typeNameWithArticle)") }
                for (i, c) in items.enumerated() {
                    let at = "\(path).\(list)[\(i)]"
                    guard c.mapValue != nil else { throw error(at, "a container (a mapping) expected, got \(c.typeNameWithArticle)") }
                    try text(c["name"], "\(at).name")
                    if c["image"] != nil || !imageGiven(list, i) {
                        guard c["image"] != nil else { throw error("\(at).image", "missing (\(imageRule))") }
                        try text(c["image"], "\(at).image")
                    }
                    for field in ["command", "args"] {
                        guard let argv = c[field] else { continue }
                        guard let words = argv.arrayValue else { throw error("\(at).\(field)", "a list of strings expected, got \(argv.typeNameWithArticle)") }
                        for (j, word) in words.enumerated() { try text(word, "\(at).\(field)[\(j)]") }
                    }
                }
            }
        }
    }
}
