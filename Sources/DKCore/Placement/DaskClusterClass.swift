/// DaskExecutor's `cluster_class`: the kinds of temporary Dask cluster dkrun can make for a
/// run, under the names Prefect 1 flows give them (a class's dotted path, or its bare name).
public enum DaskClusterClass: Sendable {
    /// distributed.LocalCluster: worker processes where the flow runs (the default).
    case local
    /// dask-kubernetes' classic KubeCluster: worker pods made for the run, with KubernetesRun.
    /// Its bare names are the classic one's: `dask_kubernetes.KubeCluster` resolved to the
    /// classic class until dask-kubernetes 2024.5 removed it (and the name with it).
    case kube
    /// dask-kubernetes' operator KubeCluster: the same pods, from its arguments or its
    /// DaskCluster resource (dkrun runs no operator).
    case operatorKube

    /// Each kind's names, and what it makes, in words.
    private static let names: [(kind: DaskClusterClass, names: [String], makes: String)] = [
        (.local, ["LocalCluster", "distributed.LocalCluster", "dask.distributed.LocalCluster"],
         "worker processes where the flow runs"),
        (.kube, ["KubeCluster", "dask_kubernetes.KubeCluster", "dask_kubernetes.classic.KubeCluster"],
         "pods made for the run, with KubernetesRun"),
        (.operatorKube, ["dask_kubernetes.operator.KubeCluster", "dask_kubernetes.operator.kubecluster.KubeCluster"],
         "pods made for the run from the operator KubeCluster's arguments, with KubernetesRun"),
    ]

    /// The kind `name` names, or nil.
    public init?(_ name: String) {
        guard let known = Self.names.first(where: { $0.names.contains(name) }) else { return nil }
        self = known.kind
    }

    /// Whether the cluster is pods on Kubernetes (a flow run with KubernetesRun), not processes here.
    public var makesPods: Bool { self != .local }

    /// The kind of temporary cluster a DaskExecutor's settings make (LocalCluster when they
    /// name none); nil for one with an address, which joins a cluster and makes none.
    public static func of(_ executor: Value) -> DaskClusterClass? {
        guard executor["address"] == nil else { return nil }
        return executor["cluster_class"]?.stringValue.flatMap(DaskClusterClass.init) ?? .local
    }

    /// Why `name` is no cluster class dkrun makes (naming those it makes), or nil when it is one.
    public static func problem(with name: String) -> String? {
        guard DaskClusterClass(name) == nil else { return nil }
        let known = names.map { "\($0.names.joined(separator: ", ")) (\($0.makes))" }
        return "dkrun makes no cluster of class '\(name)'; it makes \(known.joined(separator: "; or "))"
    }
}
