#if canImport(Glibc)
import Glibc
#endif

/// LocalRun's `env` and `working_dir`, in force in this process while a run here goes on:
/// Prefect 1's local agent starts the flow's process with them, and dkrun is that process.
/// Tasks see them (os.getenv, io.open of a relative path), and so do the processes the run
/// starts (dk.shell.run, the Dask driver and a temporary cluster's workers), which inherit
/// both. Afterwards the process's own come back, for the REPL's next run.
public struct LocalRunProcess {
    let variables: [(name: String, value: String)]
    let directory: String?

    /// Nil when the flow's run config is no LocalRun.
    /// - Parameter flowDirectory: where a relative working_dir starts.
    /// - Throws: when working_dir names no directory (bad input: nothing has run).
    public init?(flow: FlowSpec, flowDirectory: String) throws {
        guard let runConfig = flow.configuration["run_config"], runConfig["type"] == "LocalRun" else { return nil }
        variables = (runConfig["env"]?.textMap ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        directory = try runConfig["working_dir"]?.stringValue.map { given in
            let path = Files.join(flowDirectory, given)
            guard Files.kind(path) == "directory" else {
                throw FlowError("LocalRun.working_dir: '\(given)' is no directory"
                    + (path == given ? "" : " (a relative working_dir starts at the flow's directory)"))
            }
            return path
        }
    }

    /// Runs `body` with the variables set and in the directory.
    public func applied<T>(_ body: () throws -> T) throws -> T {
        let previousVariables = variables.map { ($0.name, Files.environment($0.name)) }
        let previousDirectory = Files.currentDirectory
        for v in variables { setenv(v.name, v.value, 1) }
        defer {
            for (name, value) in previousVariables {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
            chdir(previousDirectory)
        }
        if let directory, chdir(directory) != 0 {
            throw FlowError("LocalRun.working_dir: cannot enter \(directory): \(String(cString: strerror(errno)))")
        }
        return try body()
    }
}
