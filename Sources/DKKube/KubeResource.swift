/// A kind of Kubernetes object and where the API serves it.
public struct KubeResource: Sendable, Equatable {
    public let apiVersion: String
    public let kind: String
    public let plural: String
    public let namespaced: Bool

    public var group: String { apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : "" }

    /// How the API names it in errors: `pods`, `jobs.batch`.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The collection's path, in `namespace` for a namespaced kind.
    public func path(namespace: String?, name: String? = nil) -> String {
        var path = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        if namespaced, let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(plural)"
        if let name { path += "/\(name)" }
        return path
    }

    public static let pods = KubeResource(apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true)
    public static let services = KubeResource(apiVersion: "v1", kind: "Service", plural: "services", namespaced: true)
    public static let configMaps = KubeResource(apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true)
    public static let secrets = KubeResource(apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true)
    public static let events = KubeResource(apiVersion: "v1", kind: "Event", plural: "events", namespaced: true)
    public static let namespaces = KubeResource(apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false)
    public static let serviceAccounts = KubeResource(apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true)
    public static let jobs = KubeResource(apiVersion: "batch/v1", kind: "Job", plural: "jobs", namespaced: true)
    public static let deployments = KubeResource(apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", namespaced: true)
    public static let podDisruptionBudgets = KubeResource(apiVersion: "policy/v1", kind: "PodDisruptionBudget",
                                                          plural: "poddisruptionbudgets", namespaced: true)
    public static let roles = KubeResource(apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", plural: "roles", namespaced: true)
    public static let roleBindings = KubeResource(apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding",
                                                  plural: "rolebindings", namespaced: true)

    public static let selfSubjectAccessReviews = KubeResource(apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview",
                                                              plural: "selfsubjectaccessreviews", namespaced: false)

    public static let known: [KubeResource] = [pods, services, configMaps, secrets, events, namespaces, serviceAccounts,
                                               jobs, deployments, podDisruptionBudgets, roles, roleBindings,
                                               selfSubjectAccessReviews]

    /// The resource of an object's apiVersion and kind, among the kinds dkrun works with.
    public static func of(apiVersion: String, kind: String) -> KubeResource? {
        known.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }
}
