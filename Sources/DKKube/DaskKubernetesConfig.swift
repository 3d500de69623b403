import DKCore

/// The dask-kubernetes keys of Dask's configuration (`DaskConfig`) dkrun honours, resolved
/// where the run is submitted (where `~/.config/dask` is) and handed to the Job's pod in its
/// environment (`jobEnvironment`), so that both plan the same cluster.
public struct DaskKubernetesConfig: Sendable {
    /// `kubernetes.worker-name`: the template of worker pod names.
    public var workerName: String?
    /// The Pod `kubernetes.worker-template-path` names, checked.
    public var workerTemplate: Value?

    /// Carries the submitter's worker template (JSON) to the Job's pod, where its file is not.
    static let templateVariable = "DKRUN_DASK_WORKER_TEMPLATE"

    public init(environment: [String: String]) throws {
        let config = try DaskConfig(environment: environment)
        workerName = config.get("kubernetes.worker-name")?.stringValue
        if let json = environment[Self.templateVariable] {
            workerTemplate = try JSON.decode(Array(json.utf8))
        } else if let path = config.get("kubernetes.worker-template-path")?.stringValue {
            let template = try YAML.load(String(decoding: try Files.read(path, limit: .source), as: UTF8.self), source: path)
            try SpecChecks.checkPod(template, "\(path) (Dask config kubernetes.worker-template-path)", replicas: false)
            workerTemplate = template
        }
    }

    /// The Job's environment variables that give its pod these values.
    public var jobEnvironment: [String: String] {
        var env: [String: String] = [:]
        env["DASK_KUBERNETES__WORKER_NAME"] = workerName
        env[Self.templateVariable] = workerTemplate.map(JSON.encode)
        return env
    }
}
