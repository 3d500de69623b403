/// Prefect 1's cache validators (`dk.cache.*`): which cached result of a task with `cache_for`
/// it may use. Every one also requires that the entry has not expired. A cache entry is
/// stored under the digest of what its validator compares, so finding an entry is one read.
public enum CacheValidator: Sendable, Equatable {
    case durationOnly
    case allInputs
    case allParameters
    case partialInputsOnly([String])
    case partialParametersOnly([String])

    public init(value v: Value, path: String) throws {
        let names = (v["validate_on"]?.arrayValue ?? []).compactMap(\.stringValue)
        switch v["name"]?.stringValue {
        case "duration_only": self = .durationOnly
        case "all_inputs": self = .allInputs
        case "all_parameters": self = .allParameters
        case "partial_inputs_only": self = .partialInputsOnly(names)
        case "partial_parameters_only": self = .partialParametersOnly(names)
        default: throw FlowDescriptionError("\(path): unknown cache validator \(JSON.encode(v))")
        }
    }

    public var value: Value {
        switch self {
        case .durationOnly: return ["name": "duration_only"]
        case .allInputs: return ["name": "all_inputs"]
        case .allParameters: return ["name": "all_parameters"]
        case .partialInputsOnly(let n): return ["name": "partial_inputs_only", "validate_on": .array(n.map(Value.text))]
        case .partialParametersOnly(let n): return ["name": "partial_parameters_only", "validate_on": .array(n.map(Value.text))]
        }
    }

    /// What two runs must agree on to share a cache entry.
    public func compared(inputs: [String: Value], parameters: [String: Value]) -> Value {
        func only(_ names: [String], of values: [String: Value]) -> Value {
            Value(textKeys: values.filter { names.contains($0.key) })
        }
        switch self {
        case .durationOnly: return .null
        case .allInputs: return Value(textKeys: inputs)
        case .allParameters: return Value(textKeys: parameters)
        case .partialInputsOnly(let names): return only(names, of: inputs)
        case .partialParametersOnly(let names): return only(names, of: parameters)
        }
    }
}
