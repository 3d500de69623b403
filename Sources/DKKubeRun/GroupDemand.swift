import DKDask
import DKKube

extension WorkerDemand {
    /// How many workers each group wants, before its bounds. A task with restrictions counts
    /// for the first named group (by name) that offers them; the rest are the default
    /// workers'. Without named groups the default workers want Dask's target, as Dask's
    /// Adaptive would. With them, Dask's target counts every group's tasks, so the default
    /// workers want at most one worker per task of theirs, and one when they have any.
    func wanted(groups: [WorkerGroup]) -> [String: Int] {
        guard !groups.isEmpty else { return [WorkerGroup.defaultName: target] }
        var slots = [String: Double](uniqueKeysWithValues: groups.map { ($0.name, 0) })
        var others = plain
        for r in restricted {
            if let group = groups.first(where: { $0.offers(r.resources) }) {
                slots[group.name, default: 0] += Double(r.count) / Double(group.perWorker(r.resources))
            } else {
                others += r.count
            }
        }
        var out = slots.mapValues { Int($0.rounded(.up)) }
        out[WorkerGroup.defaultName] = others == 0 ? 0 : max(1, min(target, others))
        return out
    }
}
