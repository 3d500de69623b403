import DKCore

/// Why a pod is not running, in the words Kubernetes uses, and what to show the user about it.
public enum PodProblems {
    /// Waiting reasons after which the kubelet only backs off and tries the same thing again:
    /// the pod will not start without someone changing something.
    static let hopeless: Set<String> = ["ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
                                        "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"]

    /// What stops the pod for good (an image that cannot be pulled, a crash loop, a missing
    /// secret), or nil while it may still start.
    public static func hopelessReason(_ pod: Value) -> String? {
        for status in pod["status"]?["containerStatuses"]?.arrayValue ?? [] {
            if let waiting = status["state"]?["waiting"], let reason = waiting["reason"]?.stringValue, hopeless.contains(reason) {
                return reason + (waiting["message"]?.stringValue.map { ": " + $0 } ?? "")
            }
        }
        return nil
    }

    /// Why a pending pod is pending: not scheduled (and why), or its containers' waiting reason.
    public static func pendingReason(_ pod: Value) -> String {
        for condition in pod["status"]?["conditions"]?.arrayValue ?? []
            where condition["type"] == "PodScheduled" && condition["status"] == "False" {
            return "Unschedulable: " + (condition["message"]?.stringValue ?? "")
        }
        for status in pod["status"]?["containerStatuses"]?.arrayValue ?? [] {
            if let waiting = status["state"]?["waiting"], let reason = waiting["reason"]?.stringValue {
                return reason + (waiting["message"]?.stringValue.map { ": " + $0 } ?? "")
            }
        }
        return "Pending"
    }

    /// How a finished pod ended: its container's exit code and reason.
    public static func termination(_ pod: Value) -> (code: Int, reason: String)? {
        for status in pod["status"]?["containerStatuses"]?.arrayValue ?? [] {
            if let t = status["state"]?["terminated"] {
                return (Int(t["exitCode"]?.intValue ?? -1), t["reason"]?.stringValue ?? "")
            }
        }
        return nil
    }

    /// The pod's Events and last log lines, as `kubectl describe` and `kubectl logs --tail`
    /// would show them, indented under a headline (best effort: the API may fail too).
    public static func describe(_ client: KubeClient, pod name: String, namespace: String, logLines: Int = 20) -> String {
        var text = ""
        if let events = try? client.list(.events, namespace: namespace, fieldSelector: "involvedObject.name=\(name)"),
           let items = events["items"]?.arrayValue, !items.isEmpty {
            text += "\n  events of pod \(name):"
            for e in items.suffix(10) {
                text += "\n    \(e["type"]?.stringValue ?? "") \(e["reason"]?.stringValue ?? ""): \(e["message"]?.stringValue ?? "")"
            }
        }
        if logLines > 0, let log = try? client.logs(name, namespace: namespace, tailLines: logLines), !log.isEmpty {
            text += "\n  last log lines of pod \(name):"
            for line in String(decoding: log, as: UTF8.self).split(separator: "\n").suffix(logLines) {
                text += "\n    " + line
            }
        }
        return text
    }
}
