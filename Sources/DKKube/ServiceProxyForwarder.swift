import DKCore
import DKHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Forwards a local HTTP request to one port of a Service through the API server's service
/// proxy (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`), as `kubectl proxy` does,
/// with the client's credentials: the path gains the proxy's prefix, nothing else changes.
/// A Service that is gone answers 502 naming it (and says so on stderr).
public struct ServiceProxyForwarder: Sendable {
    public let client: KubeClient
    public let namespace: String
    public let service: String
    /// `NAME:PORT` or `NAME`, as the proxy path spells it.
    public let port: String?

    public init(client: KubeClient, namespace: String, service: String, port: String?) {
        self.client = client
        self.namespace = namespace
        self.service = service
        self.port = port
    }

    /// The proxy's path, ending in "/".
    public var prefix: String { "/api/v1/namespaces/\(namespace)/services/\(service)\(port.map { ":" + $0 } ?? "")/proxy/" }

    /// Request headers that belong to the connection to this server, not to the page.
    private static let hopHeaders: Set<String> = ["host", "authorization", "connection", "content-length", "transfer-encoding",
                                                  "accept-encoding", "upgrade", "keep-alive", "proxy-authorization"]

    public func answer(_ request: LoopbackHTTPServer.Request) -> HTTPResponse {
        var headers = request.headers.filter { !Self.hopHeaders.contains($0.0.lowercased()) }
        if !headers.contains(where: { $0.0.lowercased() == "accept" }) { headers.append(("Accept", "*/*")) }
        let response: HTTPResponse
        do {
            response = try client.forward(method: request.method, path: path(of: request.target), headers: headers,
                                          body: request.body.isEmpty && request.method != "POST" ? nil : request.body)
        } catch {
            return failed("the API server cannot be reached: \(error)")
        }
        // The API server's own NotFound (a JSON Status), not a page of the dashboard's.
        if response.status == 404, (try? JSON.decode(response.body))?["kind"]?.stringValue == "Status" {
            return failed("service \(service) in namespace \(namespace) is gone (has its flow run ended?)")
        }
        var kept = response.headers.filter { !["content-length", "connection", "transfer-encoding", "keep-alive"].contains($0.key) }
        if let location = kept["location"], location.hasPrefix(prefix) { kept["location"] = "/" + location.dropFirst(prefix.count) }
        return HTTPResponse(status: response.status, headers: kept, body: response.body)
    }

    /// The proxy path of a local request target; a target already under the prefix (a link
    /// the API server rewrote) stays as it is.
    func path(of target: String) -> String {
        target.hasPrefix(prefix) ? target : prefix + target.dropFirst()
    }

    private func failed(_ reason: String) -> HTTPResponse {
        fputs("dkrun k8s dashboard: \(reason)\n", stderr)
        let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>"
            + reason.replacingAll(["&": "&amp;", "<": "&lt;", ">": "&gt;"]) + "</p></body></html>\n"
        return HTTPResponse(status: 502, headers: ["content-type": "text/html; charset=utf-8"], body: Array(page.utf8))
    }
}

private extension String {
    func replacingAll(_ characters: [Character: String]) -> String {
        reduce(into: "") { out, c in out += characters[c] ?? String(c) }
    }
}
