import DKCore
@testable import DKKube

/// An API server in memory, for the cluster's decisions: it keeps the objects it is given
/// (worker pods Pending until a test says otherwise), answers with the errors the real one
/// gives, and records every call ("create pods/NAME").
final class FakeKube: KubeAPI {
    private(set) var calls: [String] = []
    /// Objects by resource, in the order they were made (lists keep it).
    private var objects: [(resource: KubeResource, object: Value)] = []
    private var logsOfPods: [String: String] = [:]
    /// What successive reads of a pod's log answer (the last one again once they run out):
    /// a log that grows between reads.
    var logReads: [String: [String]] = [:]
    /// Which of a pod's log reads (counted from 0) fail once they have delivered their text,
    /// as a transfer cut by its timeout does.
    var failingLogReads: [String: Range<Int>] = [:]
    private var logReadsMade: [String: Int] = [:]
    private var made = 0
    /// The status a new scheduler pod gets.
    var schedulerStatus: Value = ["phase": "Running"]
    /// What every list answers while set: the API failing.
    var listFailure: KubeError?

    // MARK: KubeAPI

    func resource(apiVersion: String, kind: String) throws -> KubeResource {
        guard let resource = KubeResource.of(apiVersion: apiVersion, kind: kind) else {
            throw KubeError(verb: "discover", resource: "\(apiVersion) \(kind)", namespace: nil, code: 404, status: nil)
        }
        return resource
    }

    @discardableResult
    func create(_ object: Value, namespace: String?) throws -> KubeObject {
        let resource = try resource(apiVersion: KubeObject(object).apiVersion ?? "", kind: KubeObject(object).kind ?? "")
        let name = KubeObject(object).name
        calls.append("create \(resource.plural)/\(name)")
        guard index(resource, name) == nil else {
            throw error("create", resource, name, 409, "AlreadyExists", "\(resource.plural) \"\(name)\" already exists")
        }
        made += 1
        var stored = object
        stored["metadata"]?["uid"] = .text("uid-\(made)")
        stored["metadata"]?["creationTimestamp"] = .text(Clock.iso8601(Clock.wall()))
        if resource == .pods {
            let scheduler = KubeObject(object).labels[RunLabels.component] == "scheduler"
            stored["status"] = scheduler ? schedulerStatus : ["phase": "Pending"]
        }
        if resource == .services { stored["spec"]?["clusterIP"] = "10.96.0.10" }
        objects.append((resource, stored))
        return KubeObject(stored)
    }

    func get(_ resource: KubeResource, _ name: String, namespace: String?) throws -> KubeObject {
        calls.append("get \(resource.plural)/\(name)")
        guard let i = index(resource, name) else { throw notFound("get", resource, name) }
        return KubeObject(objects[i].object)
    }

    func list(_ resource: KubeResource, namespace: String?, labelSelector: String?, fieldSelector: String?) throws -> KubeObject {
        calls.append("list \(resource.plural)")
        if let listFailure { throw listFailure }
        let items = objects.filter { $0.resource == resource && Self.matches($0.object, labelSelector, fieldSelector) }
        return KubeObject(["kind": "List", "items": .array(items.map(\.object))])
    }

    func delete(_ resource: KubeResource, _ name: String, namespace: String?) throws -> KubeObject {
        calls.append("delete \(resource.plural)/\(name)")
        guard let i = index(resource, name) else { throw notFound("delete", resource, name) }
        return KubeObject(objects.remove(at: i).object)
    }

    func deleteCollection(_ resource: KubeResource, namespace: String?, labelSelector: String) throws -> KubeObject {
        calls.append("deletecollection \(resource.plural) \(labelSelector)")
        objects.removeAll { $0.resource == resource && Self.matches($0.object, labelSelector, nil) }
        return KubeObject(["kind": "Status", "status": "Success"])
    }

    func logs(_ pod: String, namespace: String?, tailLines: Int?, follow: Bool,
              onData: (@Sendable ([UInt8]) -> Bool)?) throws -> [UInt8] {
        calls.append(follow ? "logs \(pod) --follow" : "logs \(pod)")
        var text = logsOfPods[pod] ?? ""
        if let reads = logReads[pod], let first = reads.first {
            text = first
            if reads.count > 1 { logReads[pod] = Array(reads.dropFirst()) }
        }
        let read = logReadsMade[pod, default: 0]
        logReadsMade[pod] = read + 1
        let cut = failingLogReads[pod]?.contains(read) == true
        let timedOut = KubeError(verb: "get", resource: "pods/log", name: pod, namespace: namespace, code: 0,
                                 reason: "Unreachable", message: "timed out", causes: [])
        guard let onData else {
            if cut { throw timedOut }
            return Array(text.utf8)
        }
        _ = onData(Array(text.utf8))
        if cut { throw timedOut }
        return []
    }

    // MARK: What tests set

    /// The pods of a component (worker, scheduler), oldest first.
    func pods(_ component: String) -> [KubeObject] {
        objects.filter { $0.resource == .pods }.map { KubeObject($0.object) }.filter { $0.labels[RunLabels.component] == component }
    }

    /// Sets a pod's status (phase, podIP, containerStatuses, ...).
    func setStatus(of pod: String, _ status: Value) {
        guard let i = index(.pods, pod) else { return }
        objects[i].object["status"] = status
    }

    /// Marks an object deleted but not gone yet (finalizers, a grace period).
    func markDeleted(_ resource: KubeResource, _ name: String) {
        guard let i = index(resource, name) else { return }
        objects[i].object["metadata"]?["deletionTimestamp"] = .text(Clock.iso8601(Clock.wall()))
    }

    func remove(_ resource: KubeResource, _ name: String) {
        if let i = index(resource, name) { objects.remove(at: i) }
    }

    /// A Warning event about a pod.
    func addWarning(about pod: String, reason: String, message: String) {
        made += 1
        objects.append((.events, ["metadata": ["name": .text("\(pod).\(made)"), "uid": .text("uid-\(made)")],
                                  "involvedObject": ["kind": "Pod", "name": .text(pod)], "type": "Warning",
                                  "reason": .text(reason), "message": .text(message)]))
    }

    func setLog(of pod: String, _ text: String) { logsOfPods[pod] = text }

    // MARK: Helpers

    private func index(_ resource: KubeResource, _ name: String) -> Int? {
        objects.firstIndex { $0.resource == resource && KubeObject($0.object).name == name }
    }

    private func error(_ verb: String, _ resource: KubeResource, _ name: String, _ code: Int, _ reason: String,
                       _ message: String) -> KubeError {
        KubeError(verb: verb, resource: resource.qualifiedName, name: name, namespace: "flows", code: code,
                  status: ["kind": "Status", "reason": .text(reason), "message": .text(message)])
    }

    private func notFound(_ verb: String, _ resource: KubeResource, _ name: String) -> KubeError {
        error(verb, resource, name, 404, "NotFound", "\(resource.plural) \"\(name)\" not found")
    }

    /// Label selectors of `k=v` and `k` terms, field selectors of `a.b=v` terms.
    private static func matches(_ object: Value, _ labelSelector: String?, _ fieldSelector: String?) -> Bool {
        let labels = KubeObject(object).labels
        for term in (labelSelector ?? "").split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 1 ? labels[parts[0]] == nil : labels[parts[0]] != parts[1] { return false }
        }
        for term in (fieldSelector ?? "").split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            let field = parts[0].split(separator: ".").reduce(Optional(object)) { $0?[String($1)] }
            if field?.stringValue != parts.last { return false }
        }
        return true
    }
}

/// The events a cluster reports, as text.
final class Said: RunObserver, @unchecked Sendable {
    private(set) var lines: [String] = []

    func handle(_ event: RunEvent) {
        if case let .log(_, level, message, _) = event { lines.append("\(level.name) \(message)") }
    }
}

/// Monotonic time that moves only when a test says so.
final class TestClock: @unchecked Sendable {
    var now = 1000.0
}
