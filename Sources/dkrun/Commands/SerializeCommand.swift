import ArgumentParser
import DKCore
#if canImport(Glibc)
import Glibc
#endif

struct SerializeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serialize",
        abstract: "Write the flow's payload: what workers run it from (format in docs/payload.md)."
    )

    @OptionGroup var flow: FlowOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the payload to this file instead of stdout.", valueName: "FILE"))
    var output: String?

    func run() throws {
        let loaded = try LoadedFlow(flow, printsToStderr: output == nil)
        let (bytes, dagHash) = loaded.host.sources.payload(for: loaded.spec, parameters: loaded.resolvedParameters).encodedWithDAGHash()
        if let output {
            do { try Files.write(output, bytes) } catch { throw CommandError.failure("cannot write payload: \(error)") }
        } else {
            guard isatty(STDOUT_FILENO) == 0 else {
                throw CommandError.badInput("the payload is binary; write it to a file with -o FILE or redirect stdout")
            }
            _ = fwrite(bytes, 1, bytes.count, stdout)
            fflush(stdout)
        }
        fputs("payload: \(bytes.count) bytes, sha256 \(Digests.sha256Hex(bytes)), DAG \(dagHash)\n", stderr)
    }
}
