import DKCore

/// The colour of each state, the same in the task graph (`dkrun graph`) and the report.
public enum StatePalette {
    public static func colour(_ state: StateKind) -> String {
        switch state {
        case .success: return "#a7e3b5"
        case .mapped: return "#a9cdf0"
        case .cached: return "#c8ecd2"
        case .skipped: return "#dddddd"
        case .failed, .timedOut: return "#f4a3a3"
        case .triggerFailed: return "#f7c58f"
        case .cancelled: return "#c9b3e6"
        // An attempt that failed and is retried: a bar of its own in the timeline.
        case .retrying: return "#f2b872"
        case .pending, .running, .looped: return "#fff3b0"
        case .paused: return "#9fd8d8"
        }
    }
}
