import DKCore
import DKKube

/// The worker pods of a run that ended, by pod IP, with how they ended: Dask knows only that
/// a worker went away (its KilledWorker names the last worker's address), Kubernetes knows
/// why (OOMKilled, Evicted, a signal), and a task lost with the worker is told.
struct WorkerLosses {
    private var byHost: [String: String] = [:]

    /// Records a worker pod that ended; returns what to say about it.
    @discardableResult
    mutating func record(_ pod: KubeObject) -> String {
        let text = "worker pod \(pod.name) \(PodProblems.ending(pod))"
        if let ip = pod.podIP { byHost[ip] = text }
        return text
    }

    /// The hosts of the worker addresses (`tcp://10.0.0.5:40123`) a message names.
    static func hosts(in message: String) -> [String] {
        message.matches(of: #/[a-z]+:\/\/([0-9A-Za-z.\-]+):[0-9]+/#).map { String($0.output.1) }
    }

    /// "(worker pod X was OOMKilled (exit 137))" for the recorded pods a message names, or nil.
    func explain(_ message: String) -> String? {
        var seen: Set<String> = []
        let causes = Self.hosts(in: message).compactMap { byHost[$0] }.filter { seen.insert($0).inserted }
        return causes.isEmpty ? nil : "(" + causes.joined(separator: "; ") + ")"
    }
}
