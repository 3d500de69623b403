import ArgumentParser

/// How a flow run prints what happens (`dkrun run`, `dkrun resume`): log lines at one of three
/// levels, or one JSON event per line.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print only the tasks' own output, failures and a failed run's summary.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print debug log lines and tracebacks.")
    var verbose = false

    @Flag(name: .customLong("json-events"), help: "Print one JSON event per line instead of log lines.")
    var jsonEvents = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together.") }
    }

    /// The same choice as command-line arguments, for a command that runs another.
    var arguments: [String] {
        (quiet ? ["--quiet"] : []) + (verbose ? ["--verbose"] : []) + (jsonEvents ? ["--json-events"] : [])
    }
}
