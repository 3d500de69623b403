import DKCore
import DKKube
import DKTestSupport
import Foundation
import Testing

/// The client against the test API server: kubeconfig loading, every way to authenticate,
/// the operations, Status errors and retries.
@Suite(.timeLimit(.minutes(10))) struct KubeClientTests {
    static func pod(_ name: String, labels: [String: String] = [:]) -> Value {
        var l: [Value: Value] = [:]
        for (k, v) in labels { l[.text(k)] = .text(v) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .text(name), "labels": .map(l)],
                "spec": ["containers": [["name": "main", "image": "python:3.11", "command": ["sleep", "1"]]]]]
    }

    /// A kubeconfig file in the server's directory; returns its path.
    static func kubeconfig(_ kubesim: Kubesim, _ text: String, name: String = "config") throws -> String {
        let path = kubesim.directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func client(_ kubesim: Kubesim, token: String = "s3cret") throws -> KubeClient {
        let path = try kubeconfig(kubesim, """
            apiVersion: v1
            kind: Config
            clusters: [{name: sim, cluster: {server: "\(kubesim.server)", certificate-authority: server.crt}}]
            users: [{name: u, user: {token: "\(token)"}}]
            contexts: [{name: c, context: {cluster: sim, user: u, namespace: default}}]
            current-context: c
            """)
        return KubeClient(config: try KubeConfig.load(environment: ["KUBECONFIG": path]))
    }

    @Test func createGetListPatchDelete() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try Self.client(sim)
        let created = try k.create(Self.pod("a", labels: ["app": "x"]))
        #expect(created.namespace == "default" && created.phase == "Pending")
        try k.create(Self.pod("b", labels: ["app": "y"]))
        #expect(try k.get(.pods, "a").labels["app"] == "x")
        let listed = try k.list(.pods, labelSelector: "app=y")
        #expect(listed.items.map(\.name) == ["b"])
        let patched = try k.patch(.pods, "a", ["metadata": ["labels": ["extra": "1"]]])
        #expect(patched.labels["extra"] == "1")
        var stale = created.raw
        stale["metadata"]?["labels"] = ["changed": "yes"]
        #expect(throws: KubeError.self) { try k.replace(stale) }  // its resourceVersion is old: 409
        try k.deleteCollection(.pods, labelSelector: "app")
        #expect(try k.list(.pods).items.isEmpty)
    }

    @Test func anyKindTheServerServes() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try Self.client(sim)
        try k.create(["apiVersion": "v1", "kind": "Endpoints", "metadata": ["name": "ep"]])  // not a kind dkrun knows
        let endpoints = try k.resource(apiVersion: "v1", kind: "Endpoints")
        #expect(endpoints.plural == "endpoints" && endpoints.namespaced)
        #expect(try k.get(endpoints, "ep").kind == "Endpoints")
        #expect(throws: KubeError.self) { try k.create(["apiVersion": "v1", "kind": "Gizmo", "metadata": ["name": "g"]]) }
    }

    @Test func forbiddenSaysWhatWasDenied() throws {
        let sim = try Kubesim(token: "s3cret", arguments: ["--forbid", "delete:pods", "--user", "tester"])
        let k = try Self.client(sim)
        try k.create(Self.pod("kept"))
        do {
            try k.delete(.pods, "kept")
            Issue.record("deleted")
        } catch let e as KubeError {
            #expect(e.description == "delete pods \"kept\" in namespace \"default\": Forbidden: pods is forbidden: User \"tester\" "
                    + "cannot delete resource \"pods\" in API group \"\" in the namespace \"default\"")
        }
    }

    @Test func statusErrorsSayWhatFailed() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try Self.client(sim)
        func failure(_ body: () throws -> Any) -> KubeError? {
            do { _ = try body(); return nil } catch let e as KubeError { return e } catch { return nil }
        }
        #expect(failure { try k.get(.pods, "nope") }?.description == "get pods \"nope\" in namespace \"default\": NotFound: pods \"nope\" not found")
        try k.create(Self.pod("a"))
        let exists = failure { try k.create(Self.pod("a")) }
        #expect(exists?.description == "create pods \"a\" in namespace \"default\": AlreadyExists: pods \"a\" already exists")
        var bad = Self.pod("b")
        if case .map(var m) = bad { m["spec"] = ["containers": [["image": "x"]]]; bad = .map(m) }
        let invalid = failure { try k.create(bad) }
        #expect(invalid?.reason == "Invalid" && invalid?.code == 422)
        #expect(invalid?.causes.first?.field == "spec.containers[0].name")
        let denied = failure { try Self.client(sim, token: "wrong").list(.pods) }
        #expect(denied?.code == 401 && denied?.description.hasPrefix("list pods in namespace \"default\": Unauthorized: the server refused the credentials of context c in ") == true)
        let deniedLog = failure { try Self.client(sim, token: "wrong").logs("a") }  // streams read their errors alike
        #expect(deniedLog?.description.hasPrefix("get pods/log \"a\" in namespace \"default\": Unauthorized: the server refused the credentials of context c in ") == true)
        let other = try TempDir()
        let (otherCert, _) = try makeCertificate(in: other.path, name: "other")
        var wrongCA = k.config
        wrongCA.caData = Array(try Data(contentsOf: URL(fileURLWithPath: otherCert)))
        let untrusted = failure { try KubeClient(config: wrongCA).list(.pods) }
        #expect(untrusted?.reason == "Unreachable" && untrusted?.message.hasPrefix("TLS failed for \(sim.server)/api/v1/namespaces/default/pods") == true,
                "\(String(describing: untrusted))")
        #expect(untrusted?.description.contains("s3cret") == false)  // credentials never appear in errors
        let nowhere = KubeClient(config: KubeConfig(server: "https://127.0.0.1:9", namespace: "default", caData: nil,
                                                     insecure: false, credentials: .none, origin: "a test"))
        nowhere.maxRetries = 1
        #expect(failure { try nowhere.list(.pods) }?.reason == "Unreachable")
    }

    @Test func retriesWhatIsSafeAndHonoursRetryAfter() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try Self.client(sim)
        let waits = RecordedWaits()
        k.pause = { waits.record($0) }
        try sim.fail(path: "/api/v1/namespaces/default/pods", count: 2, status: 503)
        #expect(try k.list(.pods).kind == "PodList")  // two 503s, then the answer
        #expect(waits.seconds == [0.2, 0.4])  // backing off
        try sim.fail(path: "/api/v1/namespaces/default/pods", count: 1, status: 429, retryAfter: 1)
        try k.create(Self.pod("after-429"))  // a create is retried on 429: the server did nothing
        #expect(waits.seconds == [0.2, 0.4, 1])  // as long as Retry-After said
        try sim.fail(path: "/api/v1/namespaces/default/pods", count: 1, status: 500)
        #expect(throws: KubeError.self) { try k.create(Self.pod("not-retried")) }  // a 500 on create may have happened
        try sim.fail(path: "/api/v1/namespaces/default/pods", count: 1, drop: true)
        #expect(try k.get(.pods, "after-429").name == "after-429")
        try sim.fail(path: "/api/v1/namespaces/default/pods", count: 1, status: 403)
        let forbidden = try? k.list(.pods)
        #expect(forbidden == nil)  // 403 is never retried
    }
}

/// The waits a client would have made before its retries.
final class RecordedWaits: @unchecked Sendable {
    private let monitor = Monitor()
    private var recorded: [Double] = []
    var seconds: [Double] { monitor.locked { recorded } }
    func record(_ seconds: Double) { monitor.locked { recorded.append(seconds) } }
}
