import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// `dkrun worker --stdio`: runs tasks for a Dask worker (or any caller) one after another.
/// It loads each flow once per payload hash, rebuilding it from the payload alone (the DAG
/// hash is checked), and decides and runs a task from its upstream tasks' final states with
/// the same rules as a local run (`TaskInputs`, `TaskRules`): skip and trigger, mapping,
/// arguments, timeouts, retries. Messages are frames (`FrameChannel`); the protocol is in
/// docs/worker-protocol.md. Nothing leaves it with a secret in clear: log lines, messages and
/// errors are masked, and results hold the secrets it knows as references (`TaskState.maskingSecrets`).
public final class TaskServer {
    private let channel: FrameChannel
    private var flows: [String: LoadedFlow] = [:]
    /// Keeps the results of the tasks it runs for a resume, in a file of its own for each run
    /// (`KeptPlace.file(writer:)`), written out before each Dask task ends (op=flush).
    private let kept = KeptResults(writer: UUID4.make())

    private struct LoadedFlow {
        /// Calls the tasks of the flow rebuilt from the payload (and keeps its Lua state).
        var invoker: TaskInvoker
        var payload: Payload
        var graph: FlowGraph
    }

    private struct RequestError: Error { var message: String }

    public init(channel: FrameChannel) { self.channel = channel }

    /// Serves until the input ends, or until SIGTERM (the Dask worker cancels the run) has
    /// stopped the request it came in, which is answered first; then writes out the results
    /// it keeps. Errors in a request, a frame that holds no MessagePack included, are
    /// answered, never fatal.
    public func serve() throws {
        defer { kept.finish { fputs("dkrun worker: \(SecretMask.apply($0))\n", stderr) } }
        while !Interruption.requested, let frame = try channel.receiveFrame() {
            var reply: Value
            do {
                let request: Value
                do { request = try MessagePack.decode(frame) } catch { throw RequestError(message: "the request is no MessagePack value: \(error)") }
                switch request["op"]?.stringValue {
                case "hello":
                    reply = ["version": .text(Product.version), "payload_version": .int(Payload.version)]
                case "load": reply = try load(request)
                case "run":
                    // The task's own time, without the way to and from the server: what a
                    // Dask run reports as its duration, and batches cheap tasks by.
                    let started = Clock.monotonic()
                    reply = try run(request)
                    reply["seconds"] = .float(Clock.monotonic() - started)
                    // A Dask task of its own ends with its kept result written: in this reply,
                    // not in a flush request of its own (a round trip more per task).
                    if request["flush"]?.boolValue == true, let warning = kept.flush() { reply["warning"] = .text(warning) }
                case "expand": reply = try expand(request)
                case "flush":
                    // A warning: results that could not be kept, for the Dask task's log.
                    reply = kept.flush().map { ["warning": .text($0)] } ?? [:]
                case "collect":
                    let children = try (request["children"]?.arrayValue ?? []).map(Self.decodeState)
                    reply = Self.stateReply(TaskRules.mappedState(children), attempts: 0)
                default:
                    throw RequestError(message: "unknown op \(request["op"].map(JSON.encode) ?? "(none)")")
                }
                reply = .map(reply.mapValue!.merging(["ok": true]) { $1 })
            } catch let error as RequestError {
                reply = ["ok": false, "error": .text(SecretMask.apply(error.message))]
            } catch {
                reply = ["ok": false, "error": .text(SecretMask.apply("\(error)"))]
            }
            do {
                try channel.send(reply)
            } catch let error as FrameChannel.TooLarge {
                try channel.send(["ok": false, "error": .text("the reply is \(error)")])
            }
        }
    }

    private func load(_ request: Value) throws -> Value {
        guard case .string(let bytes)? = request["payload"] else { throw RequestError(message: "load needs the payload's bytes") }
        let hash = Digests.sha256Hex(bytes)
        if flows[hash] != nil { return ["hash": .text(hash), "cached": true] }
        let payload = try Payload(bytes: bytes)
        flows[hash] = LoadedFlow(invoker: try LuaHost.rebuild(payload).makeTaskInvoker(), payload: payload, graph: try FlowGraph(payload.flow))
        return ["hash": .text(hash), "cached": false]
    }

    /// The loaded flow, the task a request names, and the inputs from its upstream states.
    private func taskInputs(_ request: Value) throws -> (LoadedFlow, TaskInputs) {
        guard let hash = request["hash"]?.stringValue, let flow = flows[hash] else {
            throw RequestError(message: "the request names a payload that was not loaded (send op=load first)")
        }
        guard let slug = request["task"]?.stringValue, let t = flow.graph.index[slug] else {
            throw RequestError(message: "flow '\(flow.payload.flow.name)' has no task \(request["task"].map(JSON.encode) ?? "(none)")")
        }
        var upstream: [Int: TaskState] = [:]
        for u in flow.graph.upstream[t] {
            let name = flow.graph.spec.tasks[u].slug
            guard let encoded = request["upstream"]?[name] else {
                throw RequestError(message: "the request for task '\(slug)' lacks the state of its upstream task '\(name)'")
            }
            if let width = encoded["width"]?.intValue {
                upstream[u] = try Self.runningMapped(width: Int(width), encoded, of: name)
            } else {
                upstream[u] = try Self.decodeState(encoded)
            }
        }
        return (flow, TaskInputs(graph: flow.graph, task: t) { upstream[$0]! })
    }

    /// A mapped upstream task whose children are still running, which the task maps over child
    /// by child (the Dask driver's depth-first maps): `{width, child?, state?}`, its number of
    /// children and the one child the request needs. Seen as its Mapped state will be, that
    /// child final and the others Pending.
    private static func runningMapped(width: Int, _ encoded: Value, of name: String) throws -> TaskState {
        var children = Array(repeating: TaskState(.pending), count: width)
        if let i = encoded["child"]?.intValue.map(Int.init) {
            guard children.indices.contains(i), let state = encoded["state"] else {
                throw RequestError(message: "upstream task '\(name)': child \(i) of \(width) without its state")
            }
            children[i] = try decodeState(state)
        }
        return TaskRules.mappedState(children)
    }

    /// Whether a mapped task runs, and over how many children: `{width}`, or the state it
    /// ends in without children.
    private func expand(_ request: Value) throws -> Value {
        let (_, inputs) = try taskInputs(request)
        switch inputs.start() {
        case .ends(let end): return Self.stateReply(end, attempts: 0)
        case .maps(let width): return ["width": .int(Int64(width))]
        case .runs: throw RequestError(message: "task '\(inputs.graph.spec.tasks[inputs.task].slug)' is not mapped")
        }
    }

    private func run(_ request: Value) throws -> Value {
        var (flow, inputs) = try taskInputs(request)
        let task = flow.graph.spec.tasks[inputs.task]
        if let p = task.parameter {
            return Self.stateReply(TaskState(.success, result: flow.payload.parameters[task.slug] ?? p.defaultValue), attempts: 1)
        }
        let mapIndex = request["map_index"]?.intValue.map(Int.init)
        var context = try request["context"].map(FlowRunContext.init(value:))
            ?? FlowRunContext(flowName: flow.payload.flow.name, parameters: flow.payload.parameters)
        context.kept = kept
        inputs.approved = context.approved.contains(task.slug)
        var call = TaskCall(id: TaskRunID(task: task.slug, mapIndex: mapIndex), task: task,
                            arguments: inputs.arguments(mapIndex: mapIndex), run: context)
        call.resumable = context.resumes != nil && inputs.upstreamAllCached(mapIndex: mapIndex)
        let log: (LogLevel, String) -> Void = { [channel] level, message in
            try? channel.send(["event": "log", "level": .text(level.name), "message": .text(SecretMask.apply(message))])
        }
        var end: TaskState?
        if let i = mapIndex { end = inputs.preflight(child: i) } else if case .ends(let state) = inputs.start() { end = state }
        if let end {
            // Its state handlers settle a state it reaches without running.
            let settled = TaskRules.handlersSettle(task, end) ? TaskRules.state(after: flow.invoker.settle(call, end, log: log)) : end
            return Self.stateReply(settled, attempts: 0)
        }
        if let stored = TaskRules.storedOutcome(call, flow.invoker, log: log) {
            return Self.stateReply(TaskRules.state(after: stored), attempts: 0)
        }
        while true {
            let attempt = call.attempt
            // Stopped during a retry's delay: the next attempt does not start.
            if Interruption.requested { return Self.stateReply(TaskRules.state(after: .interrupted), attempts: attempt - 1) }
            let outcome = TaskRules.storing(flow.invoker.invoke(call, log: log), call, flow.invoker, log: log)
            switch TaskRules.next(after: outcome, &call) {
            case .done(let state):
                return Self.stateReply(state, attempts: attempt)
            case .retry(let retrying, let delay):
                try? channel.send(["event": "retrying", "attempt": .int(Int64(attempt)), "message": .text(SecretMask.apply(retrying.message ?? ""))])
                // Ctrl-C ends the wait (and then the next attempt, at once).
                Deadline(at: nil, interruptedBy: [Interruption.flag]).sleep(delay)
            case .loop(let looped):
                try? channel.send(["event": "looped", "attempt": .int(Int64(attempt)), "message": .text(SecretMask.apply(looped.message ?? ""))])
            }
        }
    }

    /// States cross as MessagePack bytes, so the Python side passes them on without decoding.
    private static func decodeState(_ encoded: Value) throws -> TaskState {
        guard case .string(let bytes) = encoded else { throw RequestError(message: "a task state must be MessagePack bytes") }
        return try TaskState(value: MessagePack.decode(bytes))
    }

    private static func stateReply(_ state: TaskState, attempts: Int) -> Value {
        ["kind": .text(state.kind.rawValue), "state": .string(MessagePack.encode(state.maskingSecrets().value)),
         "attempts": .int(Int64(attempts))]
    }
}
