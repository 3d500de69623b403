import DKCore
@testable import DKKube
import Testing

/// Objects as the API returns them, read through their accessors; the API's errors read
/// from its answers; why pods do not run.
@Suite struct KubeObjectTests {
    static let pod = KubeObject([
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": "w1", "namespace": "flows", "uid": "u-1", "resourceVersion": "42",
                     "labels": ["app": "dask", "replicas": 3], "creationTimestamp": "2026-01-02T03:04:05Z",
                     "ownerReferences": [["kind": "Job", "name": "dkrun-1"]], "deletionTimestamp": "2026-01-02T03:05:00Z"],
        "status": ["phase": "Running", "podIP": "10.0.0.5",
                   "containerStatuses": [["name": "a", "state": ["waiting": ["reason": "ContainerCreating"]]],
                                         ["name": "b", "state": ["terminated": ["exitCode": 137, "reason": "OOMKilled"]]]]],
    ])

    @Test func accessorsReadTheRawTree() {
        let pod = Self.pod
        #expect(pod.apiVersion == "v1" && pod.kind == "Pod" && pod.name == "w1" && pod.namespace == "flows")
        #expect(pod.uid == "u-1" && pod.resourceVersion == "42" && pod.ownerReferences.count == 1)
        #expect(pod.labels == ["app": "dask"])  // a label that is not text is not a label
        #expect(pod.creationTime == Clock.parseISO8601("2026-01-02T03:04:05Z") && pod.isBeingDeleted)
        #expect(pod.phase == "Running" && pod.podIP == "10.0.0.5")
        #expect(pod.containerStatuses.map { $0.waiting?.reason } == ["ContainerCreating", nil])
        #expect(pod.containerStatuses.map { $0.terminated?.exitCode } == [nil, 137])
    }

    @Test func whatIsMissingHasItsDefault() {
        let bare = KubeObject(["kind": "Pod"])
        #expect(bare.name == "" && bare.namespace == nil && bare.labels.isEmpty && bare.ownerReferences.isEmpty)
        #expect(bare.phase == nil && bare.containerStatuses.isEmpty && !bare.isBeingDeleted && bare.items.isEmpty)
        #expect(KubeObject(["items": [["metadata": ["name": "a"]], ["metadata": ["name": "b"]]]]).items.map(\.name) == ["a", "b"])
    }

    @Test(arguments: [
        // A Status says it all, with the fields of an Invalid object its message does not name.
        (422, #"{"kind": "Status", "reason": "Invalid", "message": "Pod \"x\" is invalid", "details": {"causes": [{"field": "spec.containers[0].name", "message": "Required value"}]}}"#,
         #"create pods "x" in namespace "ns": Invalid: Pod "x" is invalid (spec.containers[0].name: Required value)"#),
        // Anything else is quoted, up to 300 bytes.
        (502, "<html>Bad Gateway</html>", #"create pods "x" in namespace "ns": HTTP 502: <html>Bad Gateway</html>"#),
        (500, String(repeating: "e", count: 400), #"create pods "x" in namespace "ns": HTTP 500: "# + String(repeating: "e", count: 300)),
        (503, #"{"proxy": "busy"}"#, #"create pods "x" in namespace "ns": HTTP 503: {"proxy": "busy"}"#),
    ])
    func errorsSayWhatTheServerAnswered(code: Int, answer: String, description: String) {
        let error = KubeError(verb: "create", resource: "pods", name: "x", namespace: "ns", code: code, answer: Array(answer.utf8))
        #expect(error.description == description && error.code == code)
    }

    @Test func aWatchErrorEventIsItsStatus() {
        let gone = KubeError(verb: "watch", resource: "pods", namespace: "ns", code: 500,
                             status: ["kind": "Status", "code": 500, "message": "etcd is unhappy"])
        #expect(gone.description == #"watch pods in namespace "ns": HTTP 500: etcd is unhappy"#)
        #expect(KubeError(verb: "watch", resource: "pods", namespace: nil, code: 0, status: [:]).description == "watch pods: Error: ")
    }

    @Test func whyAPodDoesNotRun() {
        func pod(_ status: Value) -> KubeObject { KubeObject(["status": status]) }
        let waiting = { (reason: String, message: Value) -> Value in
            ["containerStatuses": [["state": ["waiting": ["reason": .text(reason), "message": message]]]]]
        }
        #expect(PodProblems.hopelessReason(pod(waiting("ImagePullBackOff", "no such image"))) == "ImagePullBackOff: no such image")
        #expect(PodProblems.hopelessReason(pod(waiting("ContainerCreating", nil))) == nil)
        #expect(PodProblems.pendingReason(pod(waiting("ContainerCreating", nil))) == "ContainerCreating")
        #expect(PodProblems.pendingReason(pod(["conditions": [["type": "PodScheduled", "status": "False", "message": "0/1 nodes"]]]))
                == "Unschedulable: 0/1 nodes")
        #expect(PodProblems.pendingReason(pod([:])) == "Pending")
        #expect(PodProblems.termination(Self.pod).map { "\($0.code) \($0.reason)" } == "137 OOMKilled")
        #expect(PodProblems.termination(pod(waiting("ContainerCreating", nil))) == nil)
    }

    @Test func howAPodEnded() {
        func ended(_ code: Int64, _ reason: String) -> KubeObject {
            KubeObject(["status": ["phase": "Failed", "containerStatuses": [
                ["state": ["terminated": ["exitCode": .int(code), "reason": .text(reason)]]]]]])
        }
        #expect(PodProblems.ending(ended(137, "OOMKilled")) == "was OOMKilled (exit 137)")
        #expect(PodProblems.ending(ended(137, "Error")) == "was killed by signal 9 (exit 137)")
        #expect(PodProblems.ending(ended(139, "Error")) == "was killed by signal 11 (exit 139)")
        #expect(PodProblems.ending(ended(1, "Error")) == "ended with Error (exit 1)")
        #expect(PodProblems.ending(ended(0, "Completed")) == "ended with Completed (exit 0)")
        #expect(PodProblems.ending(ended(3, "")) == "ended (exit 3)")
        let evicted = KubeObject(["status": ["phase": "Failed", "reason": "Evicted",
                                             "message": "The node was low on resource: memory."]])
        #expect(PodProblems.ending(evicted) == "was Evicted: The node was low on resource: memory.")
        #expect(PodProblems.ending(KubeObject(["status": ["phase": "Failed"]])) == "ended (Failed)")
    }
}
