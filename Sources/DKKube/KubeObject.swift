import DKCore

/// A Kubernetes object as the API returned it: the raw tree, plus accessors for the fields
/// dkrun reads (as kr8s's APIObject is its `raw` dict plus properties). A struct of its own
/// rather than properties on `Value`, which carries every value of dkrun (task results,
/// configuration): `pod.phase` means something only for a Kubernetes object, and the type
/// says which values are one. Fields without an accessor are read from `raw`.
public struct KubeObject: Sendable {
    public let raw: Value

    public init(_ raw: Value) { self.raw = raw }

    public var apiVersion: String? { raw["apiVersion"]?.stringValue }
    public var kind: String? { raw["kind"]?.stringValue }
    public var metadata: Value? { raw["metadata"] }
    public var spec: Value? { raw["spec"] }
    public var status: Value? { raw["status"] }

    // MARK: Metadata

    /// metadata.name; empty for a manifest without one (`generateName`), which the API names.
    public var name: String { metadata?["name"]?.stringValue ?? "" }
    public var namespace: String? { metadata?["namespace"]?.stringValue }
    /// metadata.labels (empty when it has none).
    public var labels: [String: String] { metadata?["labels"]?.textMap ?? [:] }
    public var uid: String? { metadata?["uid"]?.stringValue }
    public var resourceVersion: String? { metadata?["resourceVersion"]?.stringValue }
    public var ownerReferences: [Value] { metadata?["ownerReferences"]?.arrayValue ?? [] }
    /// metadata.creationTimestamp, in seconds since the epoch.
    public var creationTime: Double? { metadata?["creationTimestamp"]?.stringValue.flatMap(Clock.parseISO8601) }
    /// Deleted, and waiting for its finalizers or grace period: it still shows in lists.
    public var isBeingDeleted: Bool { metadata?["deletionTimestamp"] != nil }

    // MARK: Lists

    /// The objects of a list (PodList, JobList).
    public var items: [KubeObject] { (raw["items"]?.arrayValue ?? []).map(KubeObject.init) }

    // MARK: Pods

    /// Pending, Running, Succeeded, Failed or Unknown; nil before the API server set it.
    public var phase: String? { status?["phase"]?.stringValue }
    public var podIP: String? { status?["podIP"]?.stringValue }
    public var conditions: [Value] { status?["conditions"]?.arrayValue ?? [] }
    public var containerStatuses: [ContainerStatus] {
        (status?["containerStatuses"]?.arrayValue ?? []).map(ContainerStatus.init)
    }

    // MARK: Events

    /// Normal or Warning.
    public var eventType: String? { raw["type"]?.stringValue }
    /// The name of the object the event is about.
    public var involvedObjectName: String? { raw["involvedObject"]?["name"]?.stringValue }
    /// An event's (or a Status's) reason, in CamelCase: FailedScheduling, NotFound.
    public var reason: String? { raw["reason"]?.stringValue }
    public var message: String? { raw["message"]?.stringValue }
}

/// One container of a pod, as its status says: waiting (and why), or ended (and how).
public struct ContainerStatus: Sendable {
    public let raw: Value

    public init(_ raw: Value) { self.raw = raw }

    /// Why the container is not running yet (ContainerCreating, ImagePullBackOff) and the
    /// kubelet's message; nil when it does not wait or does not say why.
    public var waiting: (reason: String, message: String?)? {
        guard let waiting = raw["state"]?["waiting"], let reason = waiting["reason"]?.stringValue else { return nil }
        return (reason, waiting["message"]?.stringValue)
    }

    /// How the container ended: its exit code (-1 when not given) and reason (Completed, Error).
    public var terminated: (exitCode: Int, reason: String)? {
        guard let terminated = raw["state"]?["terminated"] else { return nil }
        return (Int(terminated["exitCode"]?.intValue ?? -1), terminated["reason"]?.stringValue ?? "")
    }
}
