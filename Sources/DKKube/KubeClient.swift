import DKCore
import DKHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Kubernetes over its REST API with libcurl: create, get, list, replace, patch, delete
/// (one or by selector), watch and pod logs, on any resource. Each operation says how its
/// request may be retried (`RetryPolicy`): those safe to repeat on 429, 5xx and dropped
/// connections, with backoff (Retry-After honoured); a create or a patch only on 429, which
/// the server sends before doing anything. 401 and 403 are never retried.
public final class KubeClient: @unchecked Sendable {
    public let config: KubeConfig
    public var maxRetries = 5
    /// Seconds a request may take (watches and followed logs excepted).
    public var timeout = 30.0
    /// Seconds one watch request lasts before the client starts the next from where it was.
    public var watchWindow = 300.0
    /// Waits the given seconds before a retry (tests record the waits instead).
    public var pause: @Sendable (Double) -> Void = { usleep(Numbers.clamped($0 * 1e6)) }
    private let monitor = Monitor()
    private var discovered: [String: KubeResource] = [:]

    public init(config: KubeConfig) { self.config = config }

    /// When a failed request is sent again.
    enum RetryPolicy {
        /// Repeating it changes nothing: on 429, 5xx and dropped connections.
        case idempotent
        /// It may have been done when the answer is an error or lost: only on 429, which the
        /// server sends before doing anything.
        case throttledOnly
    }

    public enum PatchType: String, Sendable {
        case merge = "application/merge-patch+json"
        case strategic = "application/strategic-merge-patch+json"
        case json = "application/json-patch+json"
    }

    // MARK: Operations

    /// The server's Kubernetes version ("v1.33.0"), which anyone may read.
    public func version() throws -> String {
        let info = try call("get", KubeResource(apiVersion: "v1", kind: "Version", plural: "version", namespaced: false),
                            namespace: nil, method: "GET", path: "/version", retry: .idempotent)
        return info["gitVersion"]?.stringValue ?? "?"
    }

    /// Creates an object; its apiVersion and kind say where. Namespaced objects go to their
    /// metadata.namespace, else to `namespace` or the configuration's.
    @discardableResult
    public func create(_ object: Value, namespace: String? = nil) throws -> KubeObject {
        let resource = try resource(of: object)
        let manifest = KubeObject(object)
        let ns = resource.namespaced ? manifest.namespace ?? namespace ?? config.namespace : nil
        return KubeObject(try call("create", resource, name: manifest.name.isEmpty ? nil : manifest.name, namespace: ns,
                                   method: "POST", path: resource.path(namespace: ns), body: object, retry: .throttledOnly))
    }

    public func get(_ resource: KubeResource, _ name: String, namespace: String? = nil) throws -> KubeObject {
        let ns = self.namespace(resource, namespace)
        return KubeObject(try call("get", resource, name: name, namespace: ns, method: "GET",
                                   path: resource.path(namespace: ns, name: name), retry: .idempotent))
    }

    /// The list object (its `items` and `resourceVersion`).
    public func list(_ resource: KubeResource, namespace: String? = nil, labelSelector: String? = nil,
                     fieldSelector: String? = nil) throws -> KubeObject {
        let ns = self.namespace(resource, namespace)
        return KubeObject(try call("list", resource, namespace: ns, method: "GET", path: resource.path(namespace: ns),
                                   query: [("labelSelector", labelSelector), ("fieldSelector", fieldSelector)],
                                   retry: .idempotent))
    }

    /// Replaces an object (PUT). Sent again after a lost answer, it changes nothing more: the
    /// same content again, or a 409 Conflict when its metadata.resourceVersion is now old.
    @discardableResult
    public func replace(_ object: Value, namespace: String? = nil) throws -> KubeObject {
        let resource = try resource(of: object)
        let manifest = KubeObject(object)
        let ns = resource.namespaced ? manifest.namespace ?? namespace ?? config.namespace : nil
        return KubeObject(try call("update", resource, name: manifest.name, namespace: ns, method: "PUT",
                                   path: resource.path(namespace: ns, name: manifest.name), body: object, retry: .idempotent))
    }

    @discardableResult
    public func patch(_ resource: KubeResource, _ name: String, namespace: String? = nil, _ patch: Value,
                      type: PatchType = .merge) throws -> KubeObject {
        let ns = self.namespace(resource, namespace)
        return KubeObject(try call("patch", resource, name: name, namespace: ns, method: "PATCH",
                                   path: resource.path(namespace: ns, name: name), body: patch, contentType: type.rawValue,
                                   retry: .throttledOnly))
    }

    /// Deletes an object; what it owns goes too (Background propagation).
    /// - Returns: the object, now being deleted, or a Status.
    @discardableResult
    public func delete(_ resource: KubeResource, _ name: String, namespace: String? = nil) throws -> KubeObject {
        let ns = self.namespace(resource, namespace)
        return KubeObject(try call("delete", resource, name: name, namespace: ns, method: "DELETE",
                                   path: resource.path(namespace: ns, name: name), body: Self.backgroundDeletion,
                                   retry: .idempotent))
    }

    /// Deletes every object a selector picks (delete-collection), with what they own.
    @discardableResult
    public func deleteCollection(_ resource: KubeResource, namespace: String? = nil, labelSelector: String) throws -> KubeObject {
        let ns = self.namespace(resource, namespace)
        return KubeObject(try call("delete", resource, namespace: ns, method: "DELETE", path: resource.path(namespace: ns),
                                   query: [("labelSelector", labelSelector)], body: Self.backgroundDeletion, retry: .idempotent))
    }

    private static let backgroundDeletion: Value = ["kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"]

    private func namespace(_ resource: KubeResource, _ namespace: String?) -> String? {
        resource.namespaced ? namespace ?? config.namespace : nil
    }

    /// Where the API serves objects of this apiVersion and kind: a kind dkrun knows, or what
    /// the server's discovery says (kept for the client's life).
    public func resource(apiVersion: String, kind: String) throws -> KubeResource {
        if let known = KubeResource.of(apiVersion: apiVersion, kind: kind) { return known }
        return try monitor.locked {
            if let found = discovered[apiVersion + "/" + kind] { return found }
            let path = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
            let list = try call("discover", KubeResource(apiVersion: apiVersion, kind: kind, plural: "", namespaced: false),
                                namespace: nil, method: "GET", path: path, retry: .idempotent)
            guard let entry = list["resources"]?.arrayValue?.first(where: {
                $0["kind"]?.stringValue == kind && !($0["name"]?.stringValue ?? "/").contains("/")
            }), let plural = entry["name"]?.stringValue else {
                throw KubeError(verb: "discover", resource: "\(apiVersion) \(kind)", name: nil, namespace: nil, code: 404,
                                reason: "NotFound", message: "the server does not serve kind \(kind) in \(apiVersion)", causes: [])
            }
            let found = KubeResource(apiVersion: apiVersion, kind: kind, plural: plural,
                                     namespaced: entry["namespaced"]?.boolValue ?? true)
            discovered[apiVersion + "/" + kind] = found
            return found
        }
    }

    func resource(of object: Value) throws -> KubeResource {
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let kind = object["kind"]?.stringValue ?? ""
        guard !apiVersion.isEmpty, !kind.isEmpty else {
            let name = KubeObject(object).name
            throw KubeError(verb: "create", resource: "an object without apiVersion and kind",
                            name: name.isEmpty ? nil : name, namespace: nil, code: 0,
                            reason: "BadRequest", message: "every object needs both", causes: [])
        }
        return try resource(apiVersion: apiVersion, kind: kind)
    }

    /// One request to `path` (with its query) as it is, answered as the server answers it:
    /// a proxied page (services/proxy) rather than an API object. `headers` replace the
    /// client's own of the same name; no retries, except once with a new credential on 401.
    public func forward(method: String, path: String, headers: [(String, String)], body: [UInt8]?) throws -> HTTPResponse {
        var refreshed = false
        while true {
            var r = try request(method: method, path: path, query: [], body: nil, contentType: "")
            let given = Set(headers.map { $0.0.lowercased() })
            r.headers = r.headers.filter { !given.contains($0.0.lowercased()) } + headers
            r.body = body
            let response = try HTTPClient.perform(r)
            if response.status == 401, case .exec(let plugin) = config.credentials, !refreshed {
                plugin.invalidate()
                refreshed = true
                continue
            }
            return response
        }
    }

    // MARK: Requests

    /// One API call with its retries; the decoded JSON answer.
    func call(_ verb: String, _ resource: KubeResource, name: String? = nil, namespace: String?, method: String,
              path: String, query: [(String, String?)] = [], body: Value? = nil,
              contentType: String = "application/json", retry: RetryPolicy) throws -> Value {
        var attempt = 0
        var refreshed = false
        while true {
            let response: HTTPResponse
            do {
                response = try HTTPClient.perform(try request(method: method, path: path, query: query,
                                                              body: body.map { Array(JSON.encode($0).utf8) },
                                                              contentType: contentType))
            } catch let error as HTTPError {
                // The kubeconfig's server or certificates: bad input, whatever the call.
                if error.exitStatus == .badInput { throw KubeConfig.ConfigError("\(error) (\(config.origin))") }
                if error.retryable && retry == .idempotent && attempt < maxRetries {
                    attempt += 1
                    pause(HTTPClient.backoffDelay(attempt, retryAfter: nil))
                    continue
                }
                throw KubeError(verb: verb, resource: resource.qualifiedName, name: name, namespace: namespace, code: 0,
                                reason: "Unreachable", message: "\(error) (\(config.origin))", causes: [])
            }
            if (200 ..< 300).contains(response.status) {
                do {
                    return response.body.isEmpty ? .null : try JSON.decode(response.body)
                } catch {
                    // The server's fault, not the user's input: a failure (exit 1).
                    throw KubeError(verb: verb, resource: resource.qualifiedName, name: name, namespace: namespace,
                                    code: response.status, reason: "BadAnswer", message: "the answer is not JSON: \(error)",
                                    causes: [])
                }
            }
            if response.status == 401, case .exec(let plugin) = config.credentials, !refreshed {
                plugin.invalidate()  // an expired credential: the plugin makes a new one, once
                refreshed = true
                continue
            }
            let retryable = response.status == 429 || (retry == .idempotent && [500, 502, 503, 504].contains(response.status))
            if retryable && attempt < maxRetries {
                attempt += 1
                pause(HTTPClient.backoffDelay(attempt, retryAfter: response.headers["retry-after"].flatMap(Double.init)))
                continue
            }
            throw failure(verb, resource.qualifiedName, name: name, namespace: namespace, code: response.status,
                          answer: response.body)
        }
    }

    func request(method: String, path: String, query: [(String, String?)], body: [UInt8]?,
                 contentType: String) throws -> HTTPRequest {
        let items = query.compactMap { k, v in v.map { "\(k)=\(Self.escape($0))" } }
        var r = HTTPRequest(url: config.server + path + (items.isEmpty ? "" : "?" + items.joined(separator: "&")))
        r.method = method
        r.body = body
        r.timeout = timeout
        r.followRedirects = false
        r.caData = config.caData
        r.insecure = config.insecure
        r.headers = [("Accept", "application/json"), ("User-Agent", "dkrun")]
        if body != nil { r.headers.append(("Content-Type", contentType)) }
        switch config.credentials {
        case .none: break
        case .token(let token): r.headers.append(("Authorization", "Bearer \(token)"))
        case .tokenFile(let file):
            let token = String(decoding: try Files.read(file, limit: .credentials), as: UTF8.self).trimmed
            r.headers.append(("Authorization", "Bearer \(token)"))
        case .clientCertificate(let cert, let key):
            r.clientCertificate = cert
            r.clientKey = key
        case .basic(let user, let password):
            r.headers.append(("Authorization", "Basic " + Base64.encode(Array("\(user):\(password)".utf8))))
        case .exec(let plugin):
            switch try plugin.credential() {
            case .token(let token): r.headers.append(("Authorization", "Bearer \(token)"))
            case .clientCertificate(let cert, let key):
                r.clientCertificate = cert
                r.clientKey = key
            }
        }
        return r
    }

    /// The error of a failed answer (a call's, a watch's, a log's); a 401 names the
    /// credentials the server refused.
    func failure(_ verb: String, _ resource: String, name: String? = nil, namespace: String?, code: Int,
                 answer: [UInt8]) -> KubeError {
        guard code != 401 else {
            return KubeError(verb: verb, resource: resource, name: name, namespace: namespace, code: code,
                             reason: "Unauthorized", message: "the server refused the credentials of \(config.origin)", causes: [])
        }
        return KubeError(verb: verb, resource: resource, name: name, namespace: namespace, code: code, answer: answer)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isLetter && b < 128 || c.isNumber && b < 128 || "-._~".contains(c) { out.append(c) } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
