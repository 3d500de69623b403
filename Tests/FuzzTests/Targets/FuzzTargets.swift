#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets by name: each is a function that feeds one input to the code under test,
/// and a directory of inputs, Tests/Fuzz/NAME. A function returns for any input; it crashes (a
/// trap, a sanitizer's report) only on a bug, its own checks included (`fuzzCheck`).
/// scripts/fuzz.sh builds a libFuzzer harness per target from these files, and
/// RegressionTests feeds each target the inputs that once crashed it.
enum FuzzTargets {
    static let all: [String: ([UInt8]) -> Void] = [
        "msgpack": MessagePackFuzz.run,
        "payload": PayloadFuzz.run,
        "frames": FramesFuzz.run,
        "worker": WorkerFuzz.run,
        "yaml": YAMLFuzz.run,
        "json": JSONFuzz.run,
        "kubeconfig": KubeConfigFuzz.run,
        "bridge": ValueBridgeFuzz.run,
    ]

    static func run(_ name: String, _ input: [UInt8]) {
        guard let target = all[name] else { fatalError("no fuzz target \(name)") }
        target(input)
    }
}

/// A property every input must keep: its failure is a crash, which the fuzzer reports.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// An unlinked temporary file that holds the current input, for code that reads a file
/// descriptor or a path (`path`, through /dev/fd). One per process, reused for every input.
enum ScratchFile {
    static let descriptor: Int32 = {
        var template = Array("/tmp/dkrun-fuzz-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { fatalError("mkstemp: \(String(cString: strerror(errno)))") }
        unlink(template)
        return fd
    }()

    static var path: String { "/dev/fd/\(descriptor)" }

    /// Makes `bytes` the file's contents, its offset at the start; returns the descriptor.
    static func hold(_ bytes: [UInt8]) -> Int32 {
        guard ftruncate(descriptor, 0) == 0,
              bytes.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == bytes.count,
              lseek(descriptor, 0, SEEK_SET) == 0 else {
            fatalError("scratch file: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }
}
