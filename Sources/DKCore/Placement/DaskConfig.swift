/// Dask's configuration as `dask.config` collects it: the YAML (or JSON) files of its search
/// path merged in order, later files over earlier ones, then the `DASK_*` environment
/// variables over them all. Keys are normalised to `-`: Dask takes `_` and `-` as the same.
///
/// A malformed file is bad input, as Dask refuses it; an unreadable one is an error, where Dask
/// skips it (docs/kubernetes.md, Dask configuration files).
/// Dask also searches its Python prefixes' `etc/dask`; dkrun has none.
public struct DaskConfig: Sendable, Equatable {
    /// The merged configuration: a map of maps.
    public private(set) var values: Value = .map([:])

    /// Reads the files and variables `environment` points at (HOME, DASK_ROOT_CONFIG, DASK_CONFIG, DASK_*).
    public init(environment: [String: String]) throws {
        for path in Self.files(Self.searchPath(environment: environment)) {
            let text = String(decoding: try Files.read(path, limit: .source), as: UTF8.self)
            let document = try YAML.load(text, source: path)
            if document.isNull { continue }  // an empty file
            guard document.mapValue != nil else { throw FlowError("\(path): a Dask config file must be a mapping, got \(document.typeName)") }
            Self.merge(Self.normalised(document), into: &values)
        }
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("DASK_") {
            let path = name.dropFirst(5).lowercased().split(separator: "__", omittingEmptySubsequences: false).map { Self.normalised(String($0)) }
            var value = Self.interpret(text)
            for key in path.reversed() { value = .map([.text(key): value]) }
            Self.merge(value, into: &values)
        }
    }

    /// The value at a dotted key (`kubernetes.worker-template-path`), or nil.
    public func get(_ key: String) -> Value? {
        var value: Value? = values
        for part in key.split(separator: ".") { value = value?.mapValue?[.text(Self.normalised(String(part)))] }
        return value
    }

    /// Dask's search path, lowest precedence first; duplicates keep their last place.
    static func searchPath(environment: [String: String]) -> [String] {
        var paths = [environment["DASK_ROOT_CONFIG"] ?? "/etc/dask"]
        if let home = environment["HOME"] { paths.append(home + "/.config/dask") }
        if let path = environment["DASK_CONFIG"] { paths.append(path) }
        return paths.enumerated().filter { !paths[($0.offset + 1)...].contains($0.element) }.map(\.element)
    }

    /// A directory's `.yaml`, `.yml` and `.json` files in name order, a file itself; missing
    /// paths and unreadable directories skipped, as Dask does.
    private static func files(_ paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            switch Files.kind(path) {
            case "directory":
                return ((try? Files.list(path)) ?? []).filter { name in
                    [".yaml", ".yml", ".json"].contains { name.lowercased().hasSuffix($0) }
                }.sorted().map { Files.join(path, $0) }
            case nil: return []
            default: return [path]
            }
        }
    }

    static func normalised(_ key: String) -> String { key.replacing("_", with: "-") }

    private static func normalised(_ value: Value) -> Value {
        guard let map = value.mapValue else { return value }
        return .map(Dictionary(map.map { ($0.key.stringValue.map { .text(normalised($0)) } ?? $0.key, normalised($0.value)) }) { $1 })
    }

    /// Maps merge key by key; any other value replaces what was there.
    private static func merge(_ new: Value, into old: inout Value) {
        guard let newMap = new.mapValue, var oldMap = old.mapValue else { old = new; return }
        for (key, value) in newMap { merge(value, into: &oldMap[key, default: .null]) }
        old = .map(oldMap)
    }

    /// A variable's value as Dask reads it: a Python literal (`ast.literal_eval`), else
    /// none/null/true/false in any case, else the text itself.
    static func interpret(_ text: String) -> Value {
        var parser = PythonLiteral(text)
        if let value = parser.parse() { return value }
        switch text.lowercased() {
        case "none", "null": return .null
        case "true": return true
        case "false": return false
        default: return .text(text)
        }
    }
}

/// The Python literals Dask config variables are written in: numbers, strings, True, False,
/// None, lists, tuples (as lists) and dicts.
private struct PythonLiteral {
    private let chars: [Character]
    private var at = 0

    init(_ text: String) { chars = Array(text) }

    /// The literal that is the whole text, or nil.
    mutating func parse() -> Value? {
        guard let value = self.value() else { return nil }
        skipSpace()
        return at == chars.count ? value : nil
    }

    private mutating func skipSpace() { while at < chars.count, chars[at].isWhitespace { at += 1 } }

    private mutating func value() -> Value? {
        skipSpace()
        guard at < chars.count else { return nil }
        switch chars[at] {
        case "[": return sequence(close: "]")
        case "(": return sequence(close: ")")
        case "{": return dict()
        case "'", "\"": return string()
        default: return word()
        }
    }

    private mutating func sequence(close: Character) -> Value? {
        at += 1
        var items: [Value] = []
        while true {
            skipSpace()
            if at < chars.count, chars[at] == close { at += 1; return .array(items) }
            guard let item = value() else { return nil }
            items.append(item)
            skipSpace()
            if at < chars.count, chars[at] == "," { at += 1 } else if at >= chars.count || chars[at] != close { return nil }
        }
    }

    private mutating func dict() -> Value? {
        at += 1
        var entries: [Value: Value] = [:]
        while true {
            skipSpace()
            if at < chars.count, chars[at] == "}" { at += 1; return .map(entries) }
            guard let key = value() else { return nil }
            skipSpace()
            guard at < chars.count, chars[at] == ":" else { return nil }
            at += 1
            guard let item = value() else { return nil }
            entries[key] = item
            skipSpace()
            if at < chars.count, chars[at] == "," { at += 1 } else if at >= chars.count || chars[at] != "}" { return nil }
        }
    }

    private mutating func string() -> Value? {
        let quote = chars[at]
        at += 1
        var text = ""
        while at < chars.count {
            let c = chars[at]
            at += 1
            if c == quote { return .text(text) }
            if c == "\\", at < chars.count {
                let escaped = chars[at]
                at += 1
                text.append(["n": "\n", "t": "\t", "r": "\r", "0": "\0"][escaped] ?? escaped)
            } else {
                text.append(c)
            }
        }
        return nil
    }

    /// True, False, None or a number.
    private mutating func word() -> Value? {
        let start = at
        while at < chars.count, !chars[at].isWhitespace, !",:]})".contains(chars[at]) { at += 1 }
        let word = String(chars[start ..< at])
        switch word {
        case "True": return true
        case "False": return false
        case "None": return .null
        default:
            if let i = Int64(word) { return .int(i) }
            if let d = Double(word), word.contains(where: { $0.isNumber }), !word.lowercased().contains("n") { return .float(d) }
            return nil
        }
    }
}
