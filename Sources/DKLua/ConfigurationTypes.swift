import DKCore

/// A configuration object's type (LocalRun, DaskExecutor, ...) and what each of its fields
/// does, as the prelude declares them (Prelude/config.lua): `dkrun inspect` shows it, and
/// the table of docs/lua-api.md is checked against it.
public struct ConfigurationType: Sendable {
    public struct Field: Sendable {
        public let name: String
        /// What it takes, in words ("positive integer"); nil for a refused field.
        public let expects: String?
        /// Its default as Lua writes it (`1`, `"threads"`, `{}`), if it has one.
        public let defaultValue: String?
        /// What it does; nil for a refused field.
        public let does: String?
        /// Why dkrun refuses it (a Prefect 1 field that would do nothing here), or nil.
        public let refused: String?
    }

    public let name: String
    /// environment, run_config, executor or storage: the flow's field that holds it.
    public let kind: String
    /// What an object of this type makes of a flow.
    public let about: String
    public let fields: [Field]
}

extension LuaHost {
    /// Every configuration type, in the order the prelude defines them.
    public func configurationTypes() throws -> [ConfigurationType] {
        let described = try execute("return dk._config_fields()", chunkName: "=configuration types").first
        return (described?.arrayValue ?? []).map { type in
            ConfigurationType(
                name: type["type"]?.stringValue ?? "?", kind: type["kind"]?.stringValue ?? "?",
                about: type["about"]?.stringValue ?? "",
                fields: (type["fields"]?.arrayValue ?? []).map { field in
                    .init(name: field["name"]?.stringValue ?? "?", expects: field["expects"]?.stringValue,
                          defaultValue: field["default"]?.stringValue, does: field["does"]?.stringValue,
                          refused: field["refused"]?.stringValue)
                })
        }
    }
}
