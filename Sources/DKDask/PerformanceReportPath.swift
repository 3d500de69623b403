import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// A DaskExecutor's `performance_report_path`: the file Dask's performance report of the run
/// is written to. Relative to the directory dkrun runs in, as Prefect's is to its process's
/// (it hands the path to `distributed.performance_report` as given). Checked before the run,
/// since Dask writes the report only after the last task.
enum PerformanceReportPath {
    static let field = "DaskExecutor.performance_report_path"

    /// The absolute path, or nil when the executor asks for no report.
    /// - Throws: when the file could not be written there.
    static func resolve(_ settings: Value) throws -> String? {
        guard let given = settings["performance_report_path"] else { return nil }
        guard let text = given.stringValue, !text.isEmpty else {
            throw FlowError("\(field): expected the path of a file to write, got \(JSON.encode(given))")
        }
        let path = Files.join(Files.currentDirectory, text)
        let directory = Files.directory(of: path)
        if Files.kind(path) == "directory" {
            throw FlowError("\(field): '\(text)' is a directory; give the path of the HTML file to write")
        }
        guard Files.kind(directory) == "directory" else {
            throw FlowError("\(field): the directory \(directory) of '\(text)' does not exist")
        }
        guard access(directory, W_OK) == 0, Files.kind(path) == nil || access(path, W_OK) == 0 else {
            throw FlowError("\(field): '\(text)' cannot be written (\(String(cString: strerror(errno))))")
        }
        return path
    }
}
