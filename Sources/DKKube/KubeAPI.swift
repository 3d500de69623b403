import DKCore

/// The operations on Kubernetes objects that a flow run's Dask cluster uses (and what
/// `PodProblems` reads). `KubeClient` performs them on a server; tests of the cluster's
/// decisions give an in-memory fake.
public protocol KubeAPI: AnyObject {
    func resource(apiVersion: String, kind: String) throws -> KubeResource
    @discardableResult
    func create(_ object: Value, namespace: String?) throws -> KubeObject
    func get(_ resource: KubeResource, _ name: String, namespace: String?) throws -> KubeObject
    func list(_ resource: KubeResource, namespace: String?, labelSelector: String?, fieldSelector: String?) throws -> KubeObject
    @discardableResult
    func delete(_ resource: KubeResource, _ name: String, namespace: String?) throws -> KubeObject
    @discardableResult
    func deleteCollection(_ resource: KubeResource, namespace: String?, labelSelector: String) throws -> KubeObject
    func logs(_ pod: String, namespace: String?, tailLines: Int?, follow: Bool,
              onData: (@Sendable ([UInt8]) -> Bool)?) throws -> [UInt8]
}

extension KubeClient: KubeAPI {}
