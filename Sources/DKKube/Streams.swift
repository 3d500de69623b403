// The API calls whose answers stream: watches and pod logs.
import DKCore
import DKHTTP

/// One change to a watched object.
public struct WatchEvent: Sendable {
    /// ADDED, MODIFIED or DELETED.
    public let type: String
    public let object: KubeObject
}

extension KubeClient {
    /// Watches objects and calls `handler` for each change until it returns false or
    /// `timeout` seconds have passed. Without a `resourceVersion` it lists first and reports
    /// what exists as ADDED, as `kubectl get -w` does. When the server ends the stream (its
    /// timeout, a dropped connection) the watch resumes from the last resourceVersion seen,
    /// bookmarks included; when that is too old (410 Gone) it lists again.
    public func watch(_ resource: KubeResource, namespace: String? = nil, labelSelector: String? = nil,
                      fieldSelector: String? = nil, resourceVersion: String? = nil, timeout: Double? = nil,
                      handler: (WatchEvent) throws -> Bool) throws {
        let ns = resource.namespaced ? namespace ?? config.namespace : nil
        let deadline = timeout.map { Clock.monotonic() + $0 }
        var failures = 0
        try withoutActuallyEscaping(handler) { handler in
            let state = WatchState(version: resourceVersion, handler: handler)
            while !state.done && deadline.map({ Clock.monotonic() < $0 }) ?? true {
                if state.version == nil {
                    let list = try self.list(resource, namespace: ns, labelSelector: labelSelector, fieldSelector: fieldSelector)
                    state.version = list.resourceVersion
                    for item in list.items where !state.done {
                        state.done = !(try handler(WatchEvent(type: "ADDED", object: item)))
                    }
                    if state.done { return }
                }
                let window: Int = Numbers.clamped(max(1, min(watchWindow, deadline.map { $0 - Clock.monotonic() } ?? watchWindow)))
                var request = try self.request(method: "GET", path: resource.path(namespace: ns),
                                               query: [("watch", "1"), ("resourceVersion", state.version),
                                                       ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(window)),
                                                       ("labelSelector", labelSelector), ("fieldSelector", fieldSelector)],
                                               body: nil, contentType: "application/json")
                request.timeout = Double(window) + 30
                request.onBody = { bytes in state.feed(bytes) }
                let response: HTTPResponse
                do {
                    response = try HTTPClient.perform(request)
                } catch let error as HTTPError where error.retryable && failures < maxRetries {
                    failures += 1
                    HTTPClient.backoff(failures, retryAfter: nil)
                    continue
                }
                if let error = state.error { throw error }
                guard response.status == 200 else {
                    throw self.failure("watch", resource.qualifiedName, namespace: ns, code: response.status,
                                       answer: state.remainder())
                }
                if let status = state.failure {
                    throw KubeError(verb: "watch", resource: resource.qualifiedName, namespace: ns,
                                    code: Int(status["code"]?.intValue ?? 0), status: status)
                }
                failures = 0
            }
        }
    }

    /// A pod's log: all of it, or the last `tailLines`, or followed as it grows (`onData` gets
    /// each piece until it returns false or the pod ends).
    public func logs(_ pod: String, namespace: String? = nil, tailLines: Int? = nil, follow: Bool = false,
                     onData: (@Sendable ([UInt8]) -> Bool)? = nil) throws -> [UInt8] {
        let ns = namespace ?? config.namespace
        var request = try self.request(method: "GET", path: KubeResource.pods.path(namespace: ns, name: pod) + "/log",
                                       query: [("tailLines", tailLines.map(String.init)),
                                               ("follow", follow ? "true" : nil)],
                                       body: nil, contentType: "application/json")
        if follow { request.timeout = 0 }
        let collected = StreamedBody()
        request.onBody = { bytes in
            collected.bytes += bytes
            return onData?(bytes) ?? true
        }
        let response = try HTTPClient.perform(request)
        guard response.status == 200 else {
            throw failure("get", "pods/log", name: pod, namespace: ns, code: response.status, answer: collected.bytes)
        }
        return collected.bytes
    }
}

/// A watch in progress: splits the stream into events (one JSON object per line) as bytes
/// arrive, follows the resourceVersion, and hands each change to the handler at once.
final class WatchState: @unchecked Sendable {
    var version: String?
    var done = false
    private let lines = LineBuffer()
    /// What the handler threw, or an ERROR event other than 410 Gone.
    var error: Error?
    var failure: Value?
    private let handler: (WatchEvent) throws -> Bool

    init(version: String?, handler: @escaping (WatchEvent) throws -> Bool) {
        self.version = version
        self.handler = handler
    }

    /// false ends the stream.
    func feed(_ bytes: [UInt8]) -> Bool {
        lines.feed(bytes, handle)
    }

    /// What followed the last newline (an error's Status has none).
    func remainder() -> [UInt8] { lines.finish() ?? [] }

    private func handle(_ line: [UInt8]) -> Bool {
        guard let event = try? JSON.decode(line), let object = event["object"] else { return true }
        let rv = KubeObject(object).resourceVersion
        switch event["type"]?.stringValue {
        case "BOOKMARK":
            version = rv ?? version
        case "ERROR":
            if object["code"]?.intValue == 410 { version = nil } else { failure = object }
            return false
        case let type?:
            version = rv ?? version
            do {
                done = !(try handler(WatchEvent(type: type, object: KubeObject(object))))
            } catch {
                self.error = error
                done = true
            }
            return !done
        case nil:
            break
        }
        return true
    }
}

/// Cuts a byte stream (a watch, a followed log) into lines as it arrives. A class, fed from
/// one thread at a time: the stream's callbacks, which may not capture mutable state.
public final class LineBuffer: @unchecked Sendable {
    private var pending: [UInt8] = []
    /// How much of `pending` holds no newline: each byte is looked at once, however many
    /// chunks a long line comes in (a pod's log line can be megabytes: a task's result).
    private var scanned = 0

    public init() {}

    /// Adds bytes and hands each complete line, without its newline, to `line`, until it
    /// returns false (then so does this).
    public func feed(_ bytes: [UInt8], _ line: ([UInt8]) -> Bool) -> Bool {
        pending += bytes
        var start = 0
        // The lines handed on leave the buffer at once, not one by one.
        defer {
            pending.removeSubrange(..<start)
            scanned -= start
        }
        while let newline = pending[scanned...].firstIndex(of: 10) {
            let text = Array(pending[start ..< newline])
            start = newline + 1
            scanned = start
            if !line(text) { return false }
        }
        scanned = pending.count
        return true
    }

    /// The last line when the stream ended without a newline.
    public func finish() -> [UInt8]? {
        defer {
            pending = []
            scanned = 0
        }
        return pending.isEmpty ? nil : pending
    }
}

/// Collects a streamed body while passing it on.
final class StreamedBody: @unchecked Sendable {
    var bytes: [UInt8] = []
}
