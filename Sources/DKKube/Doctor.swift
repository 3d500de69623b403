import DKCore

/// `dkrun k8s doctor`: can this configuration reach the cluster, is it let in, and may it
/// do everything a flow run does? Each check says what is wrong and how to fix it.
public struct Doctor {
    public struct Check: Sendable {
        public let ok: Bool
        public let text: String
    }

    let client: KubeClient

    public init(client: KubeClient) { self.client = client }

    /// The checks in order; the permission checks run only once the server answers.
    /// - Throws: a configuration that cannot be used (its certificates, say): bad input, not
    ///   a check that failed.
    public func run(namespace: String) throws -> [Check] {
        var checks: [Check] = []
        do {
            let version = try client.version()
            checks.append(Check(ok: true, text: "reached \(client.config.server) (Kubernetes \(version)) with \(client.config.origin)"))
        } catch let error as KubeConfig.ConfigError {
            throw error
        } catch {
            return [Check(ok: false, text: "cannot reach the cluster: \(error)")]
        }
        do {
            _ = try client.list(.pods, namespace: namespace)
            checks.append(Check(ok: true, text: "the server accepts the credentials"))
        } catch let error as KubeError where error.code == 401 {
            return checks + [Check(ok: false, text: "the server refuses the credentials of \(client.config.origin): renew the token or certificate")]
        } catch {
            // Forbidden is for the permission checks to explain.
            checks.append(Check(ok: true, text: "the server accepts the credentials"))
        }
        var missing: [String] = []
        for permission in Manifests.permissions {
            for verb in permission.verbs {
                let parts = permission.resource.split(separator: "/").map(String.init)
                var attributes: [Value: Value] = ["namespace": .text(namespace), "verb": .text(verb),
                                                  "group": .text(permission.group), "resource": .text(parts[0])]
                if parts.count > 1 { attributes["subresource"] = .text(parts[1]) }
                let review: Value = ["apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                     "spec": ["resourceAttributes": .map(attributes)]]
                do {
                    if try client.create(review).status?["allowed"]?.boolValue != true {
                        missing.append("\(verb) \(permission.resource)\(permission.group.isEmpty ? "" : " (\(permission.group))")")
                    }
                } catch {
                    return checks + [Check(ok: false, text: "cannot ask the server what is allowed: \(error)")]
                }
            }
        }
        if missing.isEmpty {
            checks.append(Check(ok: true, text: "every permission a flow run needs in namespace \"\(namespace)\""))
        } else {
            checks.append(Check(ok: false, text: "missing in namespace \"\(namespace)\": \(missing.joined(separator: ", ")); "
                                + "grant them with `dkrun k8s rbac --namespace \(namespace) | kubectl apply -f -` "
                                + "(as someone allowed to make Roles)"))
        }
        return checks
    }
}
