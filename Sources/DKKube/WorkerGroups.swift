import DKCore

/// A named group of worker pods beside a run's default workers (`worker_groups`): its own Pod
/// spec (the default workers' when it names none), its own bounds, and the Dask resources its
/// workers declare (`dask worker --resources`). It is sized only from the tasks that need its
/// resources, so it can sit at zero until they come.
public struct WorkerGroup: Sendable, Equatable {
    /// The label every worker pod carries, naming its group (`default` for the default workers).
    public static let label = "dkrun.io/worker-group"
    public static let defaultName = "default"

    public var name: String
    public var minWorkers: Int
    public var maxWorkers: Int
    public var resources: [String: Double]
    /// nil: the default workers' spec.
    public var template: Value?

    public init(name: String, minWorkers: Int, maxWorkers: Int, resources: [String: Double], template: Value?) {
        self.name = name
        self.minWorkers = minWorkers
        self.maxWorkers = maxWorkers
        self.resources = resources
        self.template = template
    }

    /// Whether a worker of the group can run a task with these restrictions.
    public func offers(_ need: [String: Double]) -> Bool {
        need.allSatisfy { resources[$0.key, default: 0] >= $0.value }
    }

    /// How many tasks with these restrictions one worker of the group runs at once.
    public func perWorker(_ need: [String: Double]) -> Int {
        need.filter { $0.value > 0 }.map { Int(resources[$0.key, default: 0] / $0.value) }.min().map { max($0, 1) } ?? 1
    }

    /// `resources` as `dask worker --resources` takes them: "GPU=1,MEMORY=1.6e+10".
    public var resourcesArgument: String {
        resources.sorted { $0.key < $1.key }.map { "\($0.key)=\(TaskResources.shown($0.value))" }.joined(separator: ",")
    }
}

/// `worker_groups` of DaskKubernetesEnvironment and of KubeCluster's cluster_kwargs, read and
/// checked: `{ NAME = { <spec field>, min_workers, max_workers, resources } }`.
public enum WorkerGroups {
    /// - Parameters:
    ///   - owner: where the table is, for messages ("DaskKubernetesEnvironment.worker_groups").
    ///   - specField: the field giving a group's Pod spec (`worker_spec_file`, `pod_template`).
    ///   - spec: a group's loaded Pod spec, and its source for messages, by group name.
    public static func read(_ value: Value?, owner: String, specField: String,
                            spec: (String) -> (pod: Value, source: String)?) throws -> [WorkerGroup] {
        guard let value, value.arrayValue?.isEmpty != true else { return [] }
        guard value.mapValue != nil else { throw FlowError("\(owner): a table of groups by name expected, got \(value.typeNameWithArticle)") }
        let known = [specField, "min_workers", "max_workers", "resources"]
        var groups: [WorkerGroup] = []
        for (key, fields) in value.sortedEntries {
            guard let name = key.stringValue, KubeNames.dnsName(name) == name, name != WorkerGroup.defaultName else {
                throw FlowError("\(owner): group names must be lower-case letters, digits and '-' (a Kubernetes label value), "
                    + "and not '\(WorkerGroup.defaultName)' (the run's other workers); got \(JSON.encode(key))")
            }
            let at = "\(owner).\(name)"
            guard fields.mapValue != nil || fields.arrayValue?.isEmpty == true else {
                throw FlowError("\(at): a table expected, got \(fields.typeNameWithArticle)")
            }
            for field in fields.textKeyed.keys.sorted() where !known.contains(field) {
                throw FlowError("\(at): unknown field '\(field)' (a group has \(known.joined(separator: ", ")))")
            }
            let min = try Numbers.integer(fields["min_workers"] ?? 0, "\(at).min_workers", in: 0 ... SpecChecks.workerLimit)
            let max = try Numbers.integer(fields["max_workers"] ?? .int(Int64(Swift.max(min, 1))), "\(at).max_workers",
                                          in: 1 ... SpecChecks.workerLimit)
            guard min <= max else { throw FlowError("\(at): min_workers (\(min)) is greater than max_workers (\(max))") }
            var resources: [String: Double] = [:]
            for (k, v) in (fields["resources"]?.textKeyed ?? [:]) {
                guard let amount = v.numberValue, amount.isFinite, amount >= 0 else {
                    throw FlowError("\(at).resources.\(k): a non-negative number expected, got \(v.typeNameWithArticle)")
                }
                resources[k] = amount
            }
            if let r = fields["resources"], r.mapValue == nil && r.arrayValue?.isEmpty != true {
                throw FlowError("\(at).resources: a table of names and amounts expected, got \(r.typeNameWithArticle)")
            }
            let template = spec(name)
            if let template {
                try SpecChecks.checkPod(template.pod, template.source, replicas: false)
            }
            groups.append(WorkerGroup(name: name, minWorkers: min, maxWorkers: max, resources: resources, template: template?.pod))
        }
        return groups
    }

    /// The resources a worker spec declares with `--resources` (`dask worker --resources "GPU=1 MEMORY=2e9"`).
    public static func declared(in pod: Value?) -> [String: Double] {
        guard let container = pod?["spec"]?["containers"]?.arrayValue?.first else { return [:] }
        let argv = ((container["command"]?.arrayValue ?? []) + (container["args"]?.arrayValue ?? [])).compactMap(\.stringValue)
        var text: String?
        for (i, a) in argv.enumerated() {
            if a == "--resources", i + 1 < argv.count { text = argv[i + 1] }
            if a.hasPrefix("--resources=") { text = String(a.dropFirst("--resources=".count)) }
        }
        var out: [String: Double] = [:]
        for item in (text ?? "").split(whereSeparator: { $0 == "," || $0 == " " }) {
            let kv = item.split(separator: "=")
            if kv.count == 2, let amount = Double(kv[1]) { out[String(kv[0])] = amount }
        }
        return out
    }

    /// The first task whose resources no group offers, as an error naming it (nil: none).
    /// - Parameter offers: what a worker of each group declares, the default group's included.
    public static func unplaceable(_ tasks: [TaskSpec], offers: [String: [String: Double]]) -> FlowError? {
        for task in tasks where !task.resources.isEmpty {
            let need = task.resources
            if offers.values.contains(where: { offer in need.allSatisfy { offer[$0.key, default: 0] >= $0.value } }) { continue }
            let groups = offers.sorted { $0.key < $1.key }.map {
                "\($0.key) (\($0.value.isEmpty ? "none" : TaskResources.describe($0.value)))"
            }
            return FlowError("task '\(task.slug)' (\(task.source)) needs resources \(TaskResources.describe(need)), and no "
                + "worker group offers them: the groups offer \(groups.joined(separator: ", ")); add a group to worker_groups "
                + "with resources = { ... }, or give the default workers --resources")
        }
        return nil
    }
}
