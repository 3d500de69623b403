/// A trigger decides from a task's upstream states whether the task runs (Prefect 1's
/// `prefect.triggers`). Each check returns nil to run, or the state that ends the task.
public enum Trigger: Sendable, Equatable {
    case allSuccessful
    case allFinished
    case manualOnly
    case allFailed
    case anySuccessful
    case anyFailed
    case notAllSkipped
    case someSuccessful(atLeast: Double?, atMost: Double?)
    case someFailed(atLeast: Double?, atMost: Double?)

    /// The trigger named as in `dk.triggers` (`always_run` is `all_finished`, as in Prefect 1).
    public init?(name: String, atLeast: Double? = nil, atMost: Double? = nil) {
        switch name {
        case "all_successful": self = .allSuccessful
        case "all_finished", "always_run": self = .allFinished
        case "manual_only": self = .manualOnly
        case "all_failed": self = .allFailed
        case "any_successful": self = .anySuccessful
        case "any_failed": self = .anyFailed
        case "not_all_skipped": self = .notAllSkipped
        case "some_successful": self = .someSuccessful(atLeast: atLeast, atMost: atMost)
        case "some_failed": self = .someFailed(atLeast: atLeast, atMost: atMost)
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .allSuccessful: return "all_successful"
        case .allFinished: return "all_finished"
        case .manualOnly: return "manual_only"
        case .allFailed: return "all_failed"
        case .anySuccessful: return "any_successful"
        case .anyFailed: return "any_failed"
        case .notAllSkipped: return "not_all_skipped"
        case .someSuccessful: return "some_successful"
        case .someFailed: return "some_failed"
        }
    }

    /// nil when the task should run; otherwise the state it ends in. `upstream` holds the
    /// states Prefect 1 looks at (a mapped upstream task's children in its place, see
    /// `TaskState.flattened`); `hasUpstream` whether the task has upstream tasks at all, which
    /// `any_*` and `some_*` ask, as Prefect's do, even when a mapped upstream had no children.
    public func check(_ upstream: [StateKind], hasUpstream: Bool) -> TaskState? {
        let n = upstream.count
        let successes = upstream.filter(\.isSuccessful).count
        let failures = upstream.filter(\.isFailed).count
        func fail(_ why: String) -> TaskState { TaskState(.triggerFailed, message: "Trigger was \"\(name)\" but \(why)") }
        switch self {
        case .allSuccessful:
            return successes == n ? nil : fail("some of the upstream tasks failed")
        case .allFinished:
            return upstream.allSatisfy(\.isFinished) ? nil : fail("some of the upstream tasks were not finished")
        case .manualOnly:
            return TaskState(.paused, message: "Trigger function is \"manual_only\"")
        case .allFailed:
            return failures == n ? nil : fail("some of the upstream tasks succeeded")
        case .anySuccessful:
            return !hasUpstream || successes > 0 ? nil : fail("none of the upstream tasks succeeded")
        case .anyFailed:
            return !hasUpstream || failures > 0 ? nil : fail("none of the upstream tasks failed")
        case .notAllSkipped:
            // Prefect's order: all skipped (none at all included) skips, then any failure fails.
            if upstream.allSatisfy(\.isSkipped) { return TaskState(.skipped, message: "All upstreams were skipped") }
            return successes == n ? nil : fail("some of the upstream tasks failed")
        case .someSuccessful(let atLeast, let atMost):
            return !hasUpstream || Trigger.bounded(successes, of: n, atLeast, atMost) ? nil
                : fail("\(successes) of \(n) upstream tasks succeeded")
        case .someFailed(let atLeast, let atMost):
            return !hasUpstream || Trigger.bounded(failures, of: n, atLeast, atMost) ? nil
                : fail("\(failures) of \(n) upstream tasks failed")
        }
    }

    /// Prefect's bounds: a value below 1 is a fraction of the upstream tasks, otherwise a count.
    private static func bounded(_ count: Int, of n: Int, _ atLeast: Double?, _ atMost: Double?) -> Bool {
        func limit(_ b: Double) -> Double { b < 1 ? b * Double(n) : b }
        if let atLeast, Double(count) < limit(atLeast) { return false }
        if let atMost, Double(count) > limit(atMost) { return false }
        return true
    }

    /// The trigger as a description map: {name, at_least, at_most}.
    public var value: Value { try! MessagePack.decode({ var w = MessagePack.Writer(); write(to: &w); return w.bytes }()) }

    /// Writes the description map, keys in canonical order (name, at_most, at_least).
    func write(to w: inout MessagePack.Writer) {
        var bounds: (Double?, Double?) = (nil, nil)
        if case .someSuccessful(let l, let h) = self { bounds = (l, h) }
        if case .someFailed(let l, let h) = self { bounds = (l, h) }
        w.mapHeader(count: 1 + (bounds.0 == nil ? 0 : 1) + (bounds.1 == nil ? 0 : 1))
        w.key("name"); w.string(name)
        if let h = bounds.1 { w.key("at_most"); w.float(h) }
        if let l = bounds.0 { w.key("at_least"); w.float(l) }
    }
}
