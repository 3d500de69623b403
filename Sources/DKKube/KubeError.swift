import DKCore

/// A failed Kubernetes API call, said in full: the verb, the resource, the namespace, and
/// the server's reason and message (with the fields of an Invalid object).
public struct KubeError: CategorizedError {
    public var exitStatus: ExitStatus { .failure }

    public let verb: String
    public let resource: String
    public let name: String?
    public let namespace: String?
    /// The HTTP status, 0 when the server was not reached.
    public let code: Int
    public let reason: String
    public let message: String
    public let causes: [(field: String, message: String)]

    public var description: String {
        var target = resource + (name.map { " \"\($0)\"" } ?? "")
        if let namespace { target += " in namespace \"\(namespace)\"" }
        var text = "\(verb) \(target): \(reason): \(message)"
        let extra = causes.filter { !message.contains($0.field) }
        if !extra.isEmpty { text += " (" + extra.map { "\($0.field): \($0.message)" }.joined(separator: "; ") + ")" }
        return text
    }
}

extension KubeError {
    /// What the server answered to a failed call: the `Status` the API server sends, or
    /// anything else on the way (a proxy's error page, say), quoted by its first 300 bytes.
    /// - Parameter code: the HTTP status.
    init(verb: String, resource: String, name: String? = nil, namespace: String?, code: Int, answer: [UInt8]) {
        self.init(verb: verb, resource: resource, name: name, namespace: namespace, code: code,
                  status: try? JSON.decode(answer), otherwise: String(decoding: answer.prefix(300), as: UTF8.self))
    }

    /// What a Kubernetes `Status` says (a failed call's answer, a watch's ERROR event): its
    /// reason, its message and the fields of an Invalid object.
    /// - Parameters:
    ///   - code: the HTTP status, or the Status's own code for a watch's ERROR event.
    ///   - otherwise: the message when there is no Status, or it gives none.
    init(verb: String, resource: String, name: String? = nil, namespace: String?, code: Int, status: Value?,
         otherwise: String = "") {
        let causes = (status?["details"]?["causes"]?.arrayValue ?? []).map {
            (field: $0["field"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "")
        }
        self.init(verb: verb, resource: resource, name: name, namespace: namespace, code: code,
                  reason: status?["reason"]?.stringValue ?? (code > 0 ? "HTTP \(code)" : "Error"),
                  message: status?["message"]?.stringValue ?? otherwise, causes: causes)
    }
}
