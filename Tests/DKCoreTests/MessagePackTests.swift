@testable import DKCore
import DKTestSupport
import Testing

@Suite struct MessagePackTests {
    @Test(arguments: [
        (Value.null, [0xc0]), (.bool(true), [0xc3]), (.int(0), [0x00]), (.int(127), [0x7f]), (.int(128), [0xcc, 0x80]),
        (.int(-1), [0xff]), (.int(-32), [0xe0]), (.int(-33), [0xd0, 0xdf]), (.int(65536), [0xce, 0, 1, 0, 0]),
        (.int(.min), [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]), (.float(1.5), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
        (.text("a"), [0xa1, 0x61]), (.array([]), [0x90]), (.map([:]), [0x80]),
        (.map(["b": 1, "a": 2]), [0x82, 0xa1, 0x61, 0x02, 0xa1, 0x62, 0x01]),
    ] as [(Value, [UInt8])])
    func knownEncodings(value: Value, bytes: [UInt8]) throws {
        #expect(MessagePack.encode(value) == bytes)
        #expect(try MessagePack.decode(bytes) == value)
    }

    /// A map of text keys written directly (a task's inputs, for its identity) is the map value's encoding.
    @Test func aMapOfTextKeysIsWrittenAsItsValue() {
        let keys = ["b", "a", "aa", String(repeating: "k", count: 40), "#1", "é"]
        let m = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, Value.int(Int64($0))) })
        for map in [[:], ["x": ["y": [1, "z"]]], m] as [[String: Value]] {
            var w = MessagePack.Writer()
            w.map(textKeys: map)
            #expect(w.bytes == MessagePack.encode(Value(textKeys: map)))
        }
    }

    @Test func lengthBoundaries() throws {
        for n in [0, 31, 32, 255, 256, 65535, 65536] {
            let s = Value.string([UInt8](repeating: 0x41, count: n))
            #expect(try MessagePack.decode(MessagePack.encode(s)) == s)
            let a = Value.array([Value](repeating: .int(1), count: n))
            #expect(try MessagePack.decode(MessagePack.encode(a)) == a)
        }
    }

    @Test func randomValuesRoundTripExactly() throws {
        var gen = ValueGenerator(seed: 42)
        for _ in 0 ..< 2000 {
            let v = gen.value()
            let bytes = MessagePack.encode(v)
            #expect(try MessagePack.decode(bytes) == v)
            // Canonical: decoding and encoding again gives the same bytes.
            #expect(MessagePack.encode(try MessagePack.decode(bytes)) == bytes)
        }
    }

    @Test func equalMapsEncodeEqually() {
        var a: [Value: Value] = [:]
        var b: [Value: Value] = [:]
        for i in 0 ..< 50 { a[.text("key\(i)")] = .int(Int64(i)) }
        for i in (0 ..< 50).reversed() { b[.text("key\(i)")] = .int(Int64(i)) }
        #expect(MessagePack.encode(.map(a)) == MessagePack.encode(.map(b)))
    }

    @Test(arguments: [
        ([0xa5, 0x61], "malformed value at byte 1: unexpected end of input (5 bytes announced)"),
        ([0xc0, 0xc0], "malformed value at byte 1: 1 bytes after the value"),
        ([0xc1], "malformed value at byte 0: unsupported type byte 0xc1"),
        ([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "malformed value at byte 0: unsigned integer 18446744073709551615 does not fit in 64 signed bits"),
        ([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02], "malformed value at byte 4: duplicate map key"),
        ([0xdd, 0xff, 0xff, 0xff, 0xff], "malformed value at byte 5: array of 4294967295 elements exceeds the input"),
    ] as [([UInt8], String)])
    func malformedInputIsAnError(bytes: [UInt8], message: String) {
        let error = #expect(throws: MessagePack.DecodeError.self) { try MessagePack.decode(bytes) }
        #expect(error?.description == message)
    }
}

@Suite struct DigestsTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownDigests(input: String, digest: String) {
        #expect(Digests.sha256Hex(Array(input.utf8)) == digest)
    }

    @Test func millionAs() {
        #expect(Digests.sha256Hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// RFC 4231, test case 2.
    @Test func hmac() {
        #expect(Digests.hex(Digests.hmacSHA256(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct JSONTests {
    @Test func escapesAndOrder() {
        let v: Value = ["b": [1, 2.5, .null, true], "a": .text("q\"\\\n\u{1}é")]
        #expect(JSON.encode(v) == #"{"a":"q\"\\\n\u0001é","b":[1,2.5,null,true]}"#)
        // Plain runs are copied, ASCII escaped byte by byte, other text decoded by scalar.
        #expect(JSON.encode(.text("q\"\\\n\t\u{1}\u{7f} in Local{dir = \"/x\"}"))
                == #""q\"\\\n\t\u0001\u007f in Local{dir = \"/x\"}""#)
        #expect(JSON.encode(.string([0x61, 0xff, 0x22, 0x0a])) == "\"a\u{FFFD}\\\"\\n\"")
        // Escapes before text beyond ASCII, and invalid bytes after them: the same rules.
        #expect(JSON.encode(.string([0x22, 0x61, 0xc3, 0xa9, 0x0a, 0xe2, 0x82])) == "\"\\\"a\u{e9}\\n\u{FFFD}\"")
        #expect(JSON.encode(.text("")) == "\"\"" && JSON.encode(.text("plain")) == "\"plain\"")
    }

    @Test func nonFiniteFloatsAreNull() {
        #expect(JSON.encode([.float(.nan), .float(.infinity)]) == "[null,null]")
    }

    /// A key that is not a string is its JSON text; a table key within that text is named,
    /// not quoted again, so that keys within keys stay linear in size (the msgpack fuzz
    /// target found 30 levels of them taking minutes).
    @Test func keysWithinKeysAreNotQuotedAgain() {
        #expect(JSON.encode([1: "a", [1, 2]: "b"]) == #"{"1":"a","[1,2]":"b"}"#)
        #expect(JSON.encode([[[["x": 1]: 2]: 3]: 4]) == #"{"{\"{...}\":3}":4}"#)
        var deep: Value = "leaf"
        for _ in 0 ..< Value.maxMessageDepth { deep = [deep: 1] }
        #expect(JSON.encode(deep) == #"{"{\"{...}\":1}":1}"#)  // not 2^216 bytes of escapes
    }
}
