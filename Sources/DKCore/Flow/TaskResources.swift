/// A task's resource restrictions (Dask's worker resources, docs/dask.md): its `resources`
/// option, and Prefect 1's spelling in tags, `dask-resource:NAME=AMOUNT`, which Prefect 1's
/// DaskExecutor turned into `{NAME: float(AMOUNT)}` for every tag starting `dask-resource`
/// (in any case).
public enum TaskResources {
    static let tagPrefix = "dask-resource"

    /// The merged restrictions; a name given twice must have one amount.
    /// - Parameter task: names the task for messages (slug and file:line).
    static func read(option: Value?, tags: [String], task: String) throws -> [String: Double] {
        var out: [String: Double] = [:]
        func add(_ name: String, _ amount: Double, _ field: String) throws {
            guard amount.isFinite, amount >= 0 else {
                throw FlowDescriptionError("\(task) \(field): a resource amount must be a non-negative number, got \(shown(amount))")
            }
            if let earlier = out.updateValue(amount, forKey: name), earlier != amount {
                throw FlowDescriptionError("\(task) \(field): resource \(name) is \(shown(earlier)) elsewhere in the task's "
                    + "resources and tags; give it once")
            }
        }
        if let option, !option.isNull {
            guard option.mapValue != nil || option.arrayValue?.isEmpty == true else {
                throw FlowDescriptionError("\(task) resources: a table of names and amounts expected, got \(option.typeNameWithArticle)")
            }
            for (k, v) in option.sortedEntries {
                guard let name = k.stringValue, !name.isEmpty else {
                    throw FlowDescriptionError("\(task) resources: resource names must be strings, got \(JSON.encode(k))")
                }
                guard let amount = v.numberValue else {
                    throw FlowDescriptionError("\(task) resources.\(name): a number expected, got \(v.typeNameWithArticle)")
                }
                try add(name, amount, "resources.\(name)")
            }
        }
        for tag in tags where tag.lowercased().hasPrefix(tagPrefix) {
            let field = "tag '\(tag)'"
            guard let (name, amount) = parse(tag) else {
                throw FlowDescriptionError("\(task) \(field): expected \(tagPrefix):NAME=AMOUNT, AMOUNT a number (as dask-resource:GPU=1)")
            }
            try add(name, amount, field)
        }
        return out
    }

    /// NAME and AMOUNT of `dask-resource:NAME=AMOUNT`, nil when the tag has another shape.
    private static func parse(_ tag: String) -> (String, Double)? {
        let parts = tag.split(separator: "=", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let prefix = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        guard prefix.count == 2, prefix[0].lowercased() == tagPrefix, !prefix[1].isEmpty,
              let amount = Double(parts[1].trimmingSpaces) else { return nil }
        return (String(prefix[1]), amount)
    }

    /// An amount as messages show it: 1, 0.5, 1.6e+10.
    public static func shown(_ amount: Double) -> String {
        amount.isFinite && amount == amount.rounded() && abs(amount) < 1e15 ? String(Int64(amount)) : "\(amount)"
    }

    /// The restrictions as messages show them: "GPU=1, MEMORY=1.6e+10".
    public static func describe(_ resources: [String: Double]) -> String {
        resources.sorted { $0.key < $1.key }.map { "\($0.key)=\(shown($0.value))" }.joined(separator: ", ")
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
