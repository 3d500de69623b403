import DKCore

/// Why a pod is not running, in the words Kubernetes uses, and what to show the user about it.
public enum PodProblems {
    /// Waiting reasons after which the kubelet only backs off and tries the same thing again:
    /// the pod will not start without someone changing something.
    static let hopeless: Set<String> = ["ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
                                        "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"]

    /// What stops the pod for good (an image that cannot be pulled, a crash loop, a missing
    /// secret), or nil while it may still start.
    public static func hopelessReason(_ pod: KubeObject) -> String? {
        for status in pod.containerStatuses {
            if let waiting = status.waiting, hopeless.contains(waiting.reason) { return describe(waiting) }
        }
        return nil
    }

    /// Why a pending pod is pending: not scheduled (and why), or its containers' waiting reason.
    public static func pendingReason(_ pod: KubeObject) -> String {
        if let unscheduled = pod.conditions.first(where: { $0["type"] == "PodScheduled" && $0["status"] == "False" }) {
            return "Unschedulable: " + (unscheduled["message"]?.stringValue ?? "")
        }
        return pod.containerStatuses.lazy.compactMap(\.waiting).first.map(describe) ?? "Pending"
    }

    private static func describe(_ waiting: (reason: String, message: String?)) -> String {
        waiting.reason + (waiting.message.map { ": " + $0 } ?? "")
    }

    /// How a finished pod ended: its container's exit code and reason.
    public static func termination(_ pod: KubeObject) -> (code: Int, reason: String)? {
        pod.containerStatuses.lazy.compactMap(\.terminated).first.map { (code: $0.exitCode, reason: $0.reason) }
    }

    /// How a pod that ended ended, as words after its name: "was OOMKilled (exit 137)", "was
    /// Evicted: <the kubelet's message>", "was killed by signal 9 (exit 137)" (a container's
    /// code 128+N is signal N), "ended with Error (exit 1)", or its phase when no container says.
    public static func ending(_ pod: KubeObject) -> String {
        if pod.status?["reason"] == "Evicted" {
            return "was Evicted" + (pod.status?["message"]?.stringValue.map { ": " + $0 } ?? "")
        }
        guard let (code, reason) = termination(pod) else { return "ended (\(pod.phase ?? "Unknown"))" }
        if reason == "OOMKilled" { return "was OOMKilled (exit \(code))" }
        if code > 128 && code <= 128 + 64 { return "was killed by signal \(code - 128) (exit \(code))" }
        return reason.isEmpty ? "ended (exit \(code))" : "ended with \(reason) (exit \(code))"
    }

    /// The pod's Events and last log lines, as `kubectl describe` and `kubectl logs --tail`
    /// would show them, indented under a headline (best effort: the API may fail too).
    public static func describe(_ client: KubeAPI, pod name: String, namespace: String, logLines: Int = 20) -> String {
        var text = ""
        if let events = try? client.list(.events, namespace: namespace, labelSelector: nil,
                                         fieldSelector: "involvedObject.name=\(name)").items, !events.isEmpty {
            text += "\n  events of pod \(name):"
            for e in events.suffix(10) {
                text += "\n    \(e.eventType ?? "") \(e.reason ?? ""): \(e.message ?? "")"
            }
        }
        if logLines > 0, let log = try? client.logs(name, namespace: namespace, tailLines: logLines, follow: false, onData: nil),
           !log.isEmpty {
            text += "\n  last log lines of pod \(name):"
            for line in String(decoding: log, as: UTF8.self).split(separator: "\n").suffix(logLines) {
                text += "\n    " + line
            }
        }
        return text
    }
}
