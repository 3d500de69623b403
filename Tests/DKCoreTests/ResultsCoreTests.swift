@testable import DKCore
import DKTestSupport
import Testing

@Suite struct TaskIdentityTests {
    @Test func itChangesWithCodeOptionsAndInputsButNotWithPlace() {
        var task = makeTask("t", params: ["x"])
        let base = TaskIdentity(task: task, code: Array("function(x) return x end".utf8), inputs: ["x": 1])
        #expect(base == TaskIdentity(task: task, code: Array("function(x) return x end".utf8), inputs: ["x": 1]))
        #expect(base != TaskIdentity(task: task, code: Array("function(x) return x + 1 end".utf8), inputs: ["x": 1]))
        #expect(base != TaskIdentity(task: task, code: Array("function(x) return x end".utf8), inputs: ["x": 2]))
        var moved = task
        moved.source = SourcePosition("elsewhere.lua:99")
        #expect(base == TaskIdentity(task: moved, code: Array("function(x) return x end".utf8), inputs: ["x": 1]))
        task.maxRetries = 2
        #expect(base != TaskIdentity(task: task, code: Array("function(x) return x end".utf8), inputs: ["x": 1]))
    }

    /// Results kept by earlier versions are found by their identity: it stays the digest of
    /// one canonical map, however it is computed.
    @Test func itIsTheDigestOfTheCanonicalMapOfCodeInputsAndOptions() throws {
        let task = makeTask("t", params: ["x", "y"])
        let code = Array("function(x, y) return x end".utf8)
        var w = MessagePack.Writer()
        task.write(to: &w)
        var options = try MessagePack.decode(w.bytes).textKeyed
        for key in ["source", "slug", "priority", "resources", "fuse"] { options[key] = nil }
        let inputs: [String: Value] = ["x": 1, "y": ["a": [2.5, "z"]]]
        let map = Value(textKeys: ["code": .text(Digests.sha256Hex(code)), "inputs": Value(textKeys: inputs),
                                   "options": Value(textKeys: options)])
        #expect(TaskIdentity(task: task, code: code, inputs: inputs).hash == Digests.sha256Hex(MessagePack.encode(map)))
    }

    /// The part a task's calls share is hashed once: one call's identity leaves it as it was
    /// for the next.
    @Test func aSharedPartServesEveryCall() {
        let task = makeTask("t", params: ["x"])
        let code = Array("function(x) return x end".utf8)
        let part = TaskIdentity.TaskPart(task: task, code: code)
        let first = TaskIdentity(part, inputs: ["x": 1])
        #expect(TaskIdentity(part, inputs: ["x": 2]) != first)
        #expect(TaskIdentity(part, inputs: ["x": 1]) == first)
        #expect(first == TaskIdentity(task: task, code: code, inputs: ["x": 1]))
    }
}

@Suite struct StoredResultTests {
    @Test func itRoundTripsAndRefusesWhatIsNotWhole() throws {
        let r = StoredResult(value: ["a": [1, 2.5, "x"]], identity: "abc", flow: "f", task: "t", mapIndex: 3, stored: 10, expires: 20)
        #expect(try StoredResult(bytes: r.bytes) == r)
        for n in [0, 1, r.bytes.count / 2, r.bytes.count - 1] {
            #expect(throws: (any Error).self) { try StoredResult(bytes: Array(r.bytes.prefix(n))) }
        }
        #expect(throws: (any Error).self) { try StoredResult(bytes: MessagePack.encode(["format": "other"])) }
    }

    /// Its bytes are written directly: they must be the canonical encoding of what they hold.
    @Test func itsBytesAreCanonical() throws {
        for r in [StoredResult(value: ["b": 1, "a": [2.5, "x"]], identity: "abc", flow: "f", task: "t", mapIndex: 3, stored: 10, expires: 20),
                  StoredResult(value: .null, identity: "abc", flow: "flow", task: "task", mapIndex: nil, stored: 1.5)] {
            #expect(r.bytes == MessagePack.encode(try MessagePack.decode(r.bytes)))
        }
    }

    @Test func aLocalStoreWritesWholeFilesInDirectoriesItMakes() throws {
        let dir = try TempDir()
        let store = LocalResultStore(dir: dir.file("a/b"))
        #expect(try store.read("x/y") == nil)
        try store.write("x/y", [1, 2, 3])
        try store.write("x/y", [4])
        #expect(try store.read("x/y") == [4])
        #expect(try Files.list(dir.file("a/b/x")) == ["y"])
    }
}

@Suite struct CacheValidatorTests {
    @Test func eachComparesWhatPrefectsDoes() {
        let inputs: [String: Value] = ["x": 1, "z": 3], parameters: [String: Value] = ["p": 1, "q": 2]
        #expect(CacheValidator.durationOnly.compared(inputs: inputs, parameters: parameters) == .null)
        #expect(CacheValidator.allInputs.compared(inputs: inputs, parameters: parameters) == Value(textKeys: inputs))
        #expect(CacheValidator.allParameters.compared(inputs: inputs, parameters: parameters) == Value(textKeys: parameters))
        #expect(CacheValidator.partialInputsOnly(["z"]).compared(inputs: inputs, parameters: parameters) == ["z": 3])
        #expect(CacheValidator.partialParametersOnly(["q"]).compared(inputs: inputs, parameters: parameters) == ["q": 2])
    }
}

/// What a resume reads of a run's kept results in a directory (`KeptIndex`): the run's own
/// file, each Dask worker task server's `kept-*` file, and results written one per file.
@Suite struct KeptFilesTests {
    static func result(_ n: Int) -> StoredResult {
        StoredResult(value: .int(Int64(n)), identity: String(repeating: String(n), count: 64), flow: "f", task: "t\(n)",
                     mapIndex: nil, stored: 1)
    }

    @Test func aResumeReadsEveryKeptFileAndTheResultsWrittenOnTheirOwn() throws {
        let dir = try TempDir()
        let store = LocalResultStore(dir: dir.path)
        let place = KeptPlace(flowResult: .local(dir: dir.path), run: "r")
        let run = KeptResults(), worker = KeptResults(writer: "w1")
        #expect(run.add(store, place, Self.result(1)) == "runs/r/kept (record \(Self.result(1).identity)) in \(place.location)")
        #expect(worker.add(store, place, Self.result(2)) == "runs/r/kept-w1 (record \(Self.result(2).identity)) in \(place.location)")
        #expect(worker.flush() == nil)
        run.finish { Issue.record("\($0)") }
        try store.write(place.key(Self.result(3).identity), Self.result(3).bytes)
        #expect(try Files.list(dir.file("runs/r")) == ["kept", "kept-w1", "tasks"])
        var warnings: [String] = []
        for n in 1 ... 4 {
            let found = try KeptIndex.lookup(place, Self.result(n).identity, store) { warnings.append($1) }
            #expect(try found.map { try StoredResult(bytes: $0.bytes) } == (n < 4 ? Self.result(n) : nil))
            #expect(found?.key == [nil, "runs/r/kept (record ", "runs/r/kept-w1 (record ", "runs/r/tasks/", nil][n]
                .map { $0 + Self.result(n).identity + (n < 3 ? ")" : "") + " in \(place.location)" })
        }
        #expect(warnings == [])
        worker.finish { Issue.record("\($0)") }
    }

    /// A writer makes the text around the identity once per place: each result is still
    /// described in its own place.
    @Test func eachResultIsDescribedInItsOwnPlace() throws {
        let dir = try TempDir()
        let store = LocalResultStore(dir: dir.path)
        let a = KeptPlace(flowResult: .local(dir: dir.path), run: "a"), b = KeptPlace(flowResult: .local(dir: dir.path), run: "b")
        let run = KeptResults()
        for (place, n) in [(a, 1), (a, 2), (b, 3), (a, 4)] {
            #expect(run.add(store, place, Self.result(n)) == "runs/\(place.run)/kept (record \(Self.result(n).identity)) in \(place.location)")
        }
        run.finish { Issue.record("\($0)") }
        #expect(KeptPlace(flowResult: .s3(S3Location(bucket: "b")), run: "r").describe("x", file: nil) == "runs/r/tasks/x in s3://b/")
    }

    @Test func aRecordCutShortInAWorkersFileIsSkippedWithAWarningNamingIt() throws {
        let dir = try TempDir()
        let place = KeptPlace(flowResult: .local(dir: dir.path), run: "r")
        var whole: [UInt8] = [], cut: [UInt8] = []
        KeptFile.append(Self.result(1), to: &whole)
        KeptFile.append(Self.result(2), to: &cut)
        let at = cut.count
        KeptFile.append(Self.result(3), to: &cut)
        cut.removeLast(3)
        try Files.makeDirectories(dir.file("runs/r"))
        try Files.write(dir.file("runs/r/kept-a"), whole)
        try Files.write(dir.file("runs/r/kept-b"), cut)
        var warnings: [String] = []
        let index = try KeptIndex.read(place.directory!) { warnings.append($1) }
        #expect(Set(index.keys) == [Self.result(1).identity, Self.result(2).identity])
        #expect(index[Self.result(2).identity]?.file == "kept-b")
        #expect(warnings == ["kept results \(dir.file("runs/r/kept-b")): the last record (at byte \(at)): cut short, skipped (its task runs again)"])
    }
}
