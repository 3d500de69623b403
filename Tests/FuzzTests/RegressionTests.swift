import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every input that once crashed a fuzz target (Tests/Fuzz/TARGET/regressions/FILE) is fed to
/// that target again, each in a process of its own, which must exit normally within a minute
/// and 512 MiB of memory: a crash, a hang or a runaway allocation fails that input's test case
/// and no other. scripts/fuzz.sh writes what it
/// finds to crashes/; an input moves to regressions/ once its bug is fixed.
@Suite struct FuzzRegressionTests {
    /// Tests/Fuzz: a directory of inputs per target.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ target: String, _ kind: String) -> [URL] {
        let directory = root.appendingPathComponent(target).appendingPathComponent(kind)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
    }

    /// (target, input file) for every regression input.
    static let regressions: [(String, URL)] = FuzzTargets.all.keys.sorted().flatMap { target in
        files(target, "regressions").map { (target, $0) }
    }

    @Test func directoriesAreTheTargets() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: Self.root.path)
        #expect(Set(directories) == Set(FuzzTargets.all.keys))
        for target in FuzzTargets.all.keys.sorted() {
            #expect(!Self.files(target, "corpus").isEmpty, "fuzz target \(target) has no seeds in Tests/Fuzz/\(target)/corpus")
        }
    }

    @Test(arguments: regressions) func inputRunsWithoutCrashing(target: String, file: URL) async throws {
        let input = [UInt8](try Data(contentsOf: file))
        await #expect(processExitsWith: .success, "\(file.path) crashes the fuzz target \(target)") {
            [target = target as String, input = input as [UInt8]] in
            // SIGALRM ends the process; past the limit, an allocation fails and Swift traps.
            alarm(60)
            var memory = rlimit(rlim_cur: 512 << 20, rlim_max: 512 << 20)
            setrlimit(__rlimit_resource_t(RLIMIT_DATA.rawValue), &memory)
            FuzzTargets.run(target, input)
        }
    }
}
