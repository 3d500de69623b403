import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// `dkrun worker --stdio`: runs tasks for a Dask worker (or any caller) one after another.
/// It loads each flow once per payload hash, rebuilding it from the payload alone (the DAG
/// hash is checked), and runs a task from its arguments and upstream states with the same
/// rules as a local run: skip and trigger, timeouts, retries. Messages are frames
/// (`FrameChannel`); the protocol is in docs/worker-protocol.md.
public final class TaskServer {
    private let channel: FrameChannel
    private var flows: [String: (host: LuaHost, payload: Payload)] = [:]

    public init(channel: FrameChannel) { self.channel = channel }

    /// Serves until the input ends. Errors in a request are answered, never fatal.
    public func serve() throws {
        while let request = try channel.receive() {
            let reply: Value
            switch request["op"]?.stringValue {
            case "hello":
                reply = ["ok": true, "version": .text(LuaHost.version), "payload_version": .int(Payload.version)]
            case "load": reply = load(request)
            case "run": reply = run(request)
            default:
                reply = ["ok": false, "error": .text("unknown op \(request["op"].map(JSON.encode) ?? "(none)")")]
            }
            try channel.send(reply)
        }
    }

    private func failure(_ message: String) -> Value { ["ok": false, "error": .text(message)] }

    private func load(_ request: Value) -> Value {
        guard case .string(let bytes)? = request["payload"] else { return failure("load needs the payload's bytes") }
        let hash = SHA256.hexDigest(bytes)
        if flows[hash] != nil { return ["ok": true, "hash": .text(hash), "cached": true] }
        do {
            let payload = try Payload(bytes: bytes)
            flows[hash] = (try LuaHost.rebuild(payload), payload)
            return ["ok": true, "hash": .text(hash), "cached": false]
        } catch {
            return failure("\(error)")
        }
    }

    private func run(_ request: Value) -> Value {
        guard let hash = request["hash"]?.stringValue, let (host, payload) = flows[hash] else {
            return failure("run names a payload that was not loaded (send op=load first)")
        }
        guard let slug = request["task"]?.stringValue, let task = payload.flow.task(slug) else {
            return failure("flow '\(payload.flow.name)' has no task \(request["task"].map(JSON.encode) ?? "(none)")")
        }
        let mapIndex = request["map_index"]?.intValue.map(Int.init)
        let id = TaskRunID(task: slug, mapIndex: mapIndex)
        let upstream = (request["upstream_states"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(StateKind.init(rawValue:)) }
        if let end = TaskRules.preflight(task, upstream) { return reply(end, attempts: 0) }
        var arguments: [String: Value] = [:]
        for (k, v) in request["arguments"]?.mapValue ?? [:] { if let name = k.stringValue { arguments[name] = v } }
        var call = TaskCall(id: id, task: task, arguments: arguments, attempt: 1, flowName: payload.flow.name,
                            parameters: payload.parameters)
        while true {
            let outcome = host.invoke(call) { [channel] level, message in
                try? channel.send(["event": "log", "level": .text(level.name), "message": .text(message)])
            }
            let state = TaskRules.state(after: outcome)
            guard TaskRules.shouldRetry(state, task: task, attempt: call.attempt) else { return reply(state, attempts: call.attempt) }
            try? channel.send(["event": "retrying", "attempt": .int(Int64(call.attempt)), "message": .text(state.message ?? "")])
            usleep(useconds_t(max(0, task.retryDelay) * 1e6))
            call.attempt += 1
        }
    }

    private func reply(_ state: TaskState, attempts: Int) -> Value {
        var m: [Value: Value] = ["ok": true, "state": .text(state.kind.rawValue), "attempts": .int(Int64(attempts)), "result": state.result]
        if let message = state.message { m["message"] = .text(message) }
        if let traceback = state.traceback { m["traceback"] = .text(traceback) }
        return .map(m)
    }
}
