@testable import DKCore
import DKTestSupport
import Foundation
import Testing

/// The bad inputs that are files (docs/limits.md, Tests/Fixtures/bad-inputs/README.md).
let badInputs = repoRoot + "/Tests/Fixtures/bad-inputs"

/// Numbers from outside reach integers through `Numbers`: out of range is an error naming the
/// field, never a trap.
@Suite struct NumbersTests {
    @Test(arguments: [
        (Value.int(5), 5), (.float(5.0), 5), (.int(1000), 1000), (.int(1), 1),
    ] as [(Value, Int)])
    func integersInRangePass(value: Value, expected: Int) throws {
        #expect(try Numbers.integer(value, "replicas", in: 1 ... 1000) == expected)
    }

    @Test(arguments: [
        (Value.int(-5), "-5"), (.int(99_999_999_999_999), "99999999999999"), (.float(2.5), "2.5"), (.float(.nan), "nan"),
        (.float(.infinity), "inf"), (.float(1e300), "1e+300"), (.text("3"), "a string"), (.int(0), "0"),
    ] as [(Value, String)])
    func integersOutOfRangeNameTheField(value: Value, shown: String) {
        #expect(throws: Numbers.RangeError(field: "worker.yaml: spec.replicas", problem: "an integer from 1 to 1000 expected, got \(shown)")) {
            try Numbers.integer(value, "worker.yaml: spec.replicas", in: 1 ... 1000)
        }
    }

    @Test func secondsAreFiniteAndBounded() throws {
        #expect(try Numbers.seconds(0, "retry_delay") == 0)
        #expect(try Numbers.seconds(5000, "retry_delay") == 5000)
        #expect(try Numbers.seconds(.float(1e9), "retry_delay") == 1e9)
        for (value, shown) in [(Value.float(.nan), "nan"), (.float(.infinity), "inf"), (.float(1e300), "1e+300"), (.int(-1), "-1")] {
            #expect(throws: Numbers.RangeError(field: "retry_delay", problem: "a number of seconds from 0 to 1e9 expected, got \(shown)")) {
                try Numbers.seconds(value, "retry_delay")
            }
        }
        #expect(throws: Numbers.RangeError(field: "timeout", problem: "a number of seconds above 0, at most 1e9 expected, got 0")) {
            try Numbers.seconds(0, "timeout", positive: true)
        }
        #expect(try Numbers.seconds(.float(0.5), "timeout", positive: true) == 0.5)
    }

    @Test func clampingNeverTraps() {
        #expect(Numbers.clamped(5000 * 1e6, to: UInt32.self) == UInt32.max)  // retry_delay = 5000 in microseconds
        #expect(Numbers.clamped(.nan, to: Int.self) == 0)
        #expect(Numbers.clamped(.infinity, to: Int.self) == .max)
        #expect(Numbers.clamped(-.infinity, to: Int32.self) == .min)
        #expect(Numbers.clamped(Double(Int.max), to: Int.self) == .max)  // 2^63, one past Int.max
        #expect(Numbers.clamped(-2.9, to: Int.self) == -2)
        #expect(Numbers.clamped(1e300, to: UInt32.self) == .max)
    }

    /// Durations and times come in events files, frames and replies as any Double.
    @Test func clocksShowAnyNumber() {
        #expect(Clock.describe(.nan) == "nan s")
        #expect(Clock.describe(.infinity) == "inf s")
        #expect(Clock.describe(1e300) == "1e+300 s")
        #expect(Clock.describe(4.2149) == "4.21 s")
        #expect(Clock.iso8601(.nan) == "1970-01-01T00:00:00.000Z")
        #expect(Clock.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(!Clock.iso8601(1e300).isEmpty && !Clock.timeOfDay(-.infinity).isEmpty)
    }
}

/// A user's file is read with a bound: bigger is refused before it fills memory.
@Suite struct FileLimitTests {
    @Test func anEndlessFileIsRefusedAtTheLimit() {
        #expect(throws: Files.FileError(path: "/dev/zero", reason: "more than 16 MiB, the limit for a params file")) {
            try Files.read("/dev/zero", limit: .paramsFile)
        }
    }

    @Test func aRegularFileIsRefusedByItsSizeUnread() throws {
        let dir = try TempDir()
        let path = dir.file("big.yaml")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(SizeLimit.credentials.bytes))  // sparse: nothing written
        #expect(try Files.read(path, limit: .credentials).count == SizeLimit.credentials.bytes)
        try handle.truncate(atOffset: UInt64(SizeLimit.credentials.bytes + 1))
        try handle.close()
        #expect(throws: Files.FileError(path: path, reason: "4194305 bytes: more than 4 MiB, the limit for a kubeconfig, credentials or secrets file")) {
            try Files.read(path, limit: .credentials)
        }
    }

    @Test func eachKindHasOneLimit() {
        #expect(SizeLimit.frame.shown == "256 MiB" && SizeLimit.payload.shown == "64 MiB" && SizeLimit.programOutput.shown == "1 GiB")
        #expect(SizeLimit.payload.bytes < SizeLimit.frame.bytes)  // a payload fits in a worker's load request
    }
}

/// Frames: read in one pass, a header not trusted to size a buffer, a body that is no
/// MessagePack given back undecoded.
@Suite struct FrameChannelTests {
    /// A channel reading `bytes`, written by another thread into a pipe (64 KiB at a time).
    func channel(reading bytes: [UInt8]) -> (FrameChannel, pthread_t) {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        let writer = spawnThread {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
            }
            close(fds[1])
        }
        return (FrameChannel(input: fds[0], output: -1), writer)
    }

    func header(_ n: Int) -> [UInt8] { [UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] }

    @Test func aBigFrameArrivesWholeThroughAPipe() throws {
        let value = Value.string((0 ..< 5_000_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let body = MessagePack.encode(["op": "run", "data": value])
        let (channel, writer) = channel(reading: header(body.count) + body + header(1) + [0xc0])
        #expect(try channel.receive()?["data"] == value)
        #expect(try channel.receive() == .null)
        #expect(try channel.receive() == nil)  // the end, between frames
        pthread_join(writer, nil)
        close(channel.input)
    }

    @Test func aHeaderAboveTheLimitIsRefusedBeforeItsBody() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: badInputs + "/frames/header-1gib.bin")))
        let (channel, writer) = channel(reading: bytes)
        let error = #expect(throws: FrameChannel.ChannelError.self) { try channel.receiveFrame() }
        #expect(error?.description == "a frame announcing 1073741824 bytes: more than 256 MiB, the limit for a frame")
        pthread_join(writer, nil)
        close(channel.input)
    }

    @Test func aHeaderAtTheLimitReadsOnlyWhatComes() throws {
        let (channel, writer) = channel(reading: header(SizeLimit.frame.bytes) + [1, 2, 3])
        let error = #expect(throws: FrameChannel.ChannelError.self) { try channel.receiveFrame() }
        #expect(error?.description == "input ended inside a frame")
        pthread_join(writer, nil)
        close(channel.input)
    }

    @Test(arguments: ["malformed-msgpack.bin", "truncated-value.bin", "map-missing-value.bin"])
    func aWellFormedFrameOfMalformedMessagePackComesBackUndecoded(fixture: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: badInputs + "/frames/" + fixture)))
        let (channel, writer) = channel(reading: bytes + bytes)
        #expect(try channel.receiveFrame() == Array(bytes.dropFirst(4)))
        #expect(throws: MessagePack.DecodeError.self) { try channel.receive() }
        #expect(try channel.receiveFrame() == nil)
        pthread_join(writer, nil)
        close(channel.input)
    }
}

/// Payloads that each break one rule, rehashed so that only that rule is broken: the files of
/// Tests/Fixtures/bad-inputs/payloads, and what reading them says.
enum BadPayloads {
    static func good() -> Payload {
        Payload(flow: makeFlow([makeTask("n", parameter: ParameterSpec(defaultValue: 0, required: false)), makeTask("t", params: ["x"])],
                               [makeEdge("n", "t", key: "x")]),
                parameters: ["n": 1], script: SourceFile(chunkName: "f.lua", text: Array("return 1".utf8)),
                modules: ["lib": SourceFile(chunkName: "lib.lua", text: [])], files: ["spec.yaml": [1, 2, 3]])
    }

    /// The good payload with `change` made, and its content hash recomputed when `rehash`.
    static func changed(rehash: Bool = true, _ change: (inout [Value: Value]) -> Void) -> [UInt8] {
        var v = try! MessagePack.decode(good().encoded()).mapValue!
        change(&v)
        if rehash {
            v["content_hash"] = nil
            v["content_hash"] = .text(Digests.sha256Hex(MessagePack.encode(.map(v))))
        }
        return MessagePack.encode(.map(v))
    }

    static let module: Value = ["chunkname": "m.lua", "source": "return 1"]
    static let composed = "caf\u{e9}", decomposed = "cafe\u{301}"  // one text to Swift, two byte strings

    static let cases: [(file: String, bytes: [UInt8], message: String)] = [
        ("parameters-invalid-utf8-keys.msgpack", changed { $0["parameters"] = [.string([0xff]): 1, .string([0xfe]): 2] },
         "not a dkrun payload: malformed value at byte 623: parameters has a key that is not UTF-8 text"),
        ("modules-invalid-utf8-keys.msgpack", changed { $0["modules"] = [.string([0xc3]): module, .string([0xc3, 0x28]): module] },
         "not a dkrun payload: malformed value at byte 496: modules has a key that is not UTF-8 text"),
        ("files-invalid-utf8-keys.msgpack", changed { $0["files"] = [.string([0x80, 0x41]): "a", .string([0xed, 0xa0, 0x80]): "b"] },
         "not a dkrun payload: malformed value at byte 412: files has a key that is not UTF-8 text"),
        ("files-equivalent-keys.msgpack", changed { $0["files"] = [.text(composed): "a", .text(decomposed): "b"] },
         "payload's files: two keys are the text 'caf\u{e9}'"),
        ("modules-bad-entry.msgpack", changed { $0["modules"] = ["lib": "return 1"] },
         "payload's modules 'lib': {chunkname, source} expected"),
        ("parameters-not-hashed.msgpack", changed(rehash: false) { $0["parameters"] = ["n": 2] },
         "payload is corrupt: its content hash does not match its fields"),
        ("dag-hash-wrong.msgpack", changed { $0["dag_hash"] = "0000" },
         "payload is corrupt: its DAG hash does not match its flow"),
        ("version-1.msgpack", changed { $0["version"] = 1 },
         "payload version 1 is not supported by this dkrun (it reads version 4)"),
    ]
}

/// Every map a payload holds is covered by its content hash, and read strictly.
@Suite struct PayloadHashTests {
    @Test(arguments: BadPayloads.cases.map { ($0.bytes, $0.message) })
    func badPayloadsAreRefusedWithTheRuleTheyBreak(bytes: [UInt8], message: String) {
        #expect(throws: PayloadError(message)) { try Payload(bytes: bytes) }
    }

    @Test func everyFieldIsCovered() throws {
        let good = BadPayloads.good().encoded()
        #expect(try Payload(bytes: good) == BadPayloads.good())
        for field in ["parameters", "script", "modules", "files", "format", "version", "flow", "dag_hash"] {
            let bytes = BadPayloads.changed(rehash: false) { $0[.text(field)] = "changed" }
            #expect(throws: PayloadError.self, "\(field)") { try Payload(bytes: bytes) }
        }
    }

    @Test func aPayloadAboveTheLimitIsRefusedUndecoded() {
        let bytes = [UInt8](repeating: 0xc0, count: SizeLimit.payload.bytes + 1)
        #expect(throws: PayloadError("payload of 67108865 bytes: more than 64 MiB, the limit for a payload")) { try Payload(bytes: bytes) }
    }

    /// The files `dkrun k8s flow-run` is tested with (BadInputTests) are these payloads. Set
    /// DKRUN_WRITE_FIXTURES=1 to write them again after a change of the payload format.
    @Test func theFixtureFilesAreCurrent() throws {
        for (file, bytes, _) in BadPayloads.cases {
            let path = badInputs + "/payloads/" + file
            if ProcessInfo.processInfo.environment["DKRUN_WRITE_FIXTURES"] == "1" { try Files.write(path, bytes) }
            #expect(try Files.read(path, limit: .payload) == bytes, "\(file) is out of date: DKRUN_WRITE_FIXTURES=1 writes it")
        }
    }
}
