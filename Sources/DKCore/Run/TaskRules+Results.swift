/// The rules of stored results, shared by every place tasks run (the flow runner's jobs, the
/// worker task server): before a task's first attempt, whether a stored result stands in for
/// running it (its `target`, the result it kept in an earlier run when this run resumes one,
/// a valid cache entry); after a successful attempt, what is written where (the result kept
/// for a resume or checkpoint, the target, a cache entry). docs/results.md.
extension TaskRules {
    /// The outcome of a call that ends without running because a stored result stands in
    /// for it (Cached, settled by the task's state handlers), or that fails because its
    /// result location cannot be read; nil: the task runs.
    public static func storedOutcome(_ call: TaskCall, _ invoker: TaskInvoker,
                                     log: @escaping (LogLevel, String) -> Void) -> TaskOutcome? {
        let task = call.task
        guard task.target != nil || task.cacheFor != nil || call.resumable, call.attempt == 1, call.loopCount == 1 else { return nil }
        let state: TaskState
        do {
            let plan = try StoragePlan(call, invoker)
            if let key = plan.target, let found = try plan.read(key, log: log) {
                state = TaskState(.cached, message: "Result found at task target \(key)", result: found.value,
                                  resultLocation: plan.describe(key))
            } else if let found = try resumed(call, plan, log: log) {
                state = found
            } else if let key = plan.cache, let found = try plan.read(key, log: log),
                      let expires = found.expires, expires > Clock.wall() {
                state = TaskState(.cached, message: "Cached result of \(Clock.iso8601(found.stored)), valid until "
                                  + Clock.iso8601(expires), result: found.value, resultLocation: plan.describe(key))
            } else {
                if plan.cache != nil { log(.info, "Task '\(call.id)': no valid cached result; it runs") }
                return nil
            }
        } catch {
            // Only what the task itself asks for (a target, a cache) fails it; a resume that
            // cannot look runs the task.
            guard task.target != nil || task.cacheFor != nil else {
                log(.warning, "Task '\(call.id)': cannot resume it (\(error)); it runs")
                return nil
            }
            return .ended(TaskState(.failed, message: "\(error)"))
        }
        return handlersSettle(task, state) ? invoker.settle(call, state, log: log) : .ended(state)
    }

    /// In a resumed run, the Cached state of a call whose result the resumed run kept under
    /// its identity (or checkpointed, `checkpoint = true`), kept again for this run so that
    /// it can be resumed in turn; nil when it may not be resumed or nothing is kept (it runs).
    private static func resumed(_ call: TaskCall, _ plan: StoragePlan, log: (LogLevel, String) -> Void) throws -> TaskState? {
        guard call.resumable, let resumes = call.run.resumes, call.task.target == nil else { return nil }
        let place = KeptPlace(flowResult: call.task.flowResult, run: resumes)
        let found: (result: StoredResult, key: String)?
        if let kept = try plan.readKept(place, log: log) {
            found = kept
        } else if call.task.checkpoint == true, let checkpoint = try plan.read(plan.checkpoint, log: log) {
            found = (checkpoint, plan.describe(plan.checkpoint))
        } else {
            found = nil
        }
        guard let found else {
            log(.info, "Task '\(call.id)': no result kept for its identity (the task, an option or an input changed, or it did not "
                + "succeed); it runs")
            return nil
        }
        var location = found.key
        if call.task.checkpoint != true && call.run.keepsResults {
            do { location = try plan.keep(found.result) } catch { log(.warning, "\(error); a resume of this run will run the task again") }
        }
        return TaskState(.cached, message: "Resumed from run \(RunIDPrefix.short(resumes)): result of \(Clock.iso8601(found.result.stored)) "
                         + "kept at \(found.key)", result: found.result.value, resultLocation: location)
    }

    /// An attempt's outcome once its result is stored: a successful attempt's result is
    /// written to the target or checkpoint (`checkpoint = true`), else kept for a later resume
    /// under its identity (unless `checkpoint = false`; by `KeptResults` on its own thread in a
    /// run here and on a Dask worker), and to the cache (then the task is Cached, as in
    /// Prefect 1). A result the task asked to store that cannot be written fails the task,
    /// naming the location; one kept only for a resume warns. The state says where the
    /// result is (`TaskState.resultLocation`, for the run history).
    public static func storing(_ outcome: TaskOutcome, _ call: TaskCall, _ invoker: TaskInvoker,
                               log: (LogLevel, String) -> Void) -> TaskOutcome {
        let state = state(after: outcome)
        let task = call.task
        guard state.kind == .success, task.usesStoredResults || (task.checkpoint != false && call.run.keepsResults) else {
            return outcome
        }
        let plan: StoragePlan
        do { plan = try StoragePlan(call, invoker) } catch { return unstored(error, call, log: log) ?? outcome }
        let now = Clock.wall()
        let stored = StoredResult(value: state.result, identity: plan.identity.hash, flow: call.run.flowName,
                                  task: task.slug, mapIndex: call.id.mapIndex, stored: now)
        var location: String?
        do {
            if let key = plan.target ?? (task.checkpoint == true ? plan.checkpoint : nil) {
                try plan.write(key, stored)
                location = plan.describe(key)
            } else if task.checkpoint != false && call.run.keepsResults {
                location = try plan.keep(stored)
            }
        } catch {
            if let failed = unstored(error, call, log: log) { return failed }
        }
        guard let key = plan.cache, let seconds = task.cacheFor else {
            guard let location else { return outcome }
            var located = state
            located.resultLocation = location
            return .handled(located)
        }
        var entry = stored
        entry.expires = now + seconds
        do { try plan.write(key, entry) } catch { return .ended(TaskState(.failed, message: "\(error)")) }
        return .handled(TaskState(.cached, message: "Cached for \(Clock.describe(seconds))", result: state.result,
                                  resultLocation: location ?? plan.describe(key)))
    }

    /// A result that could not be stored: the task's failure when it asked to store it, else
    /// (kept only for a resume) a warning, and nil.
    private static func unstored(_ error: Error, _ call: TaskCall, log: (LogLevel, String) -> Void) -> TaskOutcome? {
        guard call.task.usesStoredResults else {
            log(.warning, "\(error); a resume will run this task again")
            return nil
        }
        return .ended(TaskState(.failed, message: "\(error)"))
    }
}

/// Where a task's results go in one run: the store of its result location, and where the
/// run keeps results for a resume (`KeptPlace`) and the store there. The same for every call
/// of the task in the run: an invoker that runs many makes it once (`TaskInvoker.storage`).
public struct TaskStorage {
    let store: ResultStore
    let kept: KeptPlace
    let keptStore: ResultStore

    /// - Parameter stores: the store of a location (`TaskInvoker.resultStore`).
    public init(task: TaskSpec, run: String, stores: (ResultLocation) throws -> ResultStore) throws {
        let location = task.resultLocation
        do {
            store = try stores(location)
        } catch {
            throw ResultStoreError("result location \(location): \(error)")
        }
        kept = KeptPlace(flowResult: task.flowResult, run: run)
        do {
            keptStore = kept.location == location ? store : try stores(kept.location)
        } catch {
            throw ResultStoreError("result location \(kept.location): \(error)")
        }
    }
}

/// Where one call's results are stored: its location, its identity, and the keys of its
/// checkpoint, target and cache entry.
struct StoragePlan {
    let call: TaskCall
    let store: ResultStore
    let identity: TaskIdentity
    /// `tasks/<identity>`: a checkpoint without a target.
    var checkpoint: String { "tasks/\(identity.hash)" }
    /// Where this run keeps the result for a resume (`KeptPlace`), and the store there.
    let kept: KeptPlace
    let keptStore: ResultStore
    let target: String?
    /// `cache/<digest of the cache key>/<digest of what the validator compares>`.
    let cache: String?

    init(_ call: TaskCall, _ invoker: TaskInvoker) throws {
        self.call = call
        let task = call.task
        let storage: TaskStorage
        do { storage = try invoker.storage(of: task, run: call.run.id) } catch {
            throw ResultStoreError("task '\(call.id)': \(error)")
        }
        (store, kept, keptStore) = (storage.store, storage.kept, storage.keptStore)
        identity = TaskIdentity(invoker.identityPart(of: task), inputs: call.arguments)
        do { target = try call.target() } catch { throw ResultStoreError("task '\(call.id)': \(error)") }
        if task.cacheFor != nil {
            let key = task.cacheKey ?? "\(call.run.flowName)/\(task.name)"
            let compared = (task.cacheValidator ?? .durationOnly).compared(inputs: call.arguments, parameters: call.run.parameters)
            cache = "cache/\(Digests.sha256Hex(Array(key.utf8)))/\(Digests.sha256Hex(MessagePack.encode(compared)))"
        } else {
            cache = nil
        }
    }

    /// The result stored under `key`; nil when there is none, or when what is there cannot be
    /// read as one (with a warning: the task runs again and replaces it).
    func read(_ key: String, log: (LogLevel, String) -> Void) throws -> StoredResult? {
        let bytes: [UInt8]?
        do { bytes = try store.read(key) } catch {
            throw ResultStoreError("task '\(call.id)': cannot read \(key) in result location \(store.location): \(error)")
        }
        guard let bytes else { return nil }
        do {
            return try StoredResult(bytes: bytes)
        } catch {
            log(.warning, "Task '\(call.id)': the stored result \(key) in \(store.location) is unreadable (\(error)); the task runs again")
            return nil
        }
    }

    /// The result `place`'s run kept for this identity; nil when there is none, or when it
    /// cannot be read as one (with a warning: the task runs again).
    func readKept(_ place: KeptPlace, log: (LogLevel, String) -> Void) throws -> (result: StoredResult, key: String)? {
        let found: (bytes: [UInt8], key: String)?
        do { found = try KeptIndex.lookup(place, identity.hash, keptStore, log: log) } catch {
            throw ResultStoreError("task '\(call.id)': cannot read the results run \(RunIDPrefix.short(place.run)) kept in "
                + "\(place.location): \(error)")
        }
        guard let found else { return nil }
        do {
            return (try StoredResult(bytes: found.bytes), found.key)
        } catch {
            log(.warning, "Task '\(call.id)': the kept result \(found.key) is unreadable (\(error)); "
                + "the task runs again")
            return nil
        }
    }

    /// Keeps a result for a resume of this run: by the process's `KeptResults` (the run's in
    /// a run here, the task server's on a Dask worker, `KeptResults.takes`), else written at
    /// once. Where it is kept.
    func keep(_ result: StoredResult) throws -> String {
        if let writer = call.run.kept, writer.takes(kept) { return writer.add(keptStore, kept, result) }
        do { try keptStore.write(kept.key(result.identity), result.bytes) } catch {
            throw ResultStoreError("task '\(call.id)': cannot keep its result at \(kept.key(result.identity)) in \(kept.location): \(error)")
        }
        return kept.describe(result.identity, file: nil)
    }

    /// "KEY in LOCATION", as the run history shows where a result is.
    func describe(_ key: String) -> String { "\(key) in \(store.location)" }

    func write(_ key: String, _ result: StoredResult) throws {
        do { try store.write(key, result.bytes) } catch {
            throw ResultStoreError("task '\(call.id)': cannot write its result to \(key) in result location \(store.location): \(error)")
        }
    }
}
