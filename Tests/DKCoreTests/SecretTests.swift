@testable import DKCore
import Foundation
import Testing

/// Secrets kept by name (`SecretText`, `Value.secret`) and masked in every form dkrun's
/// encoders give them. SecretMask is process-wide: each test registers secrets of its own.
@Suite struct SecretTests {
    static func text(_ parts: [String]) -> SecretText { SecretText(parts: parts.map { Array($0.utf8) })! }

    @Test func aSecretTextIsMessagePackExtensionOneAndShowsItsNames() throws {
        let url = Value.secret(Self.text(["postgres://app:", "pw", "@db"]))
        let bytes = MessagePack.encode(url)
        #expect(Array(bytes.prefix(3)) == [0xc7, 24, 0x01])  // ext 8, 24 bytes, type 1
        #expect(try MessagePack.decode(bytes) == url)
        // Data of exactly 8 bytes takes the fixext 8 form, as canonical encoding wants.
        let whole = Value.secret(Self.text(["", "abcd", ""]))
        #expect(MessagePack.encode(whole) == [0xd7, 0x01, 0x93, 0xa0, 0xa4, 0x61, 0x62, 0x63, 0x64, 0xa0])
        #expect(try MessagePack.decode(MessagePack.encode(["k": whole, "list": [whole, url]])) == ["k": whole, "list": [whole, url]])

        #expect(JSON.encode(["url": url]) == #"{"url":"postgres://app:<secret pw>@db"}"#)
        #expect(try YAML.dump(["url": url]) == "url: postgres://app:<secret pw>@db\n")
        #expect(url.typeName == "secret" && url.stringValue == nil)
        #expect(SecretText(parts: [Array("a".utf8), []]) == nil && SecretText(parts: [[], [], []]) == nil)
        #expect(SecretText(parts: [Array("no secret".utf8)]) == nil)
    }

    @Test(arguments: [
        ([0xd4, 0x02, 0x00], "malformed value at byte 0: unsupported extension type 2"),
        ([0xd5, 0x01, 0x92, 0xa0], "malformed value at byte 0: malformed secret text"),  // two parts
        ([0xc7, 0x04, 0x01, 0x93, 0xa0, 0x01, 0xa0], "malformed value at byte 0: malformed secret text"),  // a name that is no string
        ([0xc7, 0x09, 0x01, 0x93], "malformed value at byte 3: unexpected end of input (9 bytes announced)"),
    ] as [([UInt8], String)])
    func malformedExtensionsAreErrors(bytes: [UInt8], message: String) {
        let error = #expect(throws: MessagePack.DecodeError.self) { try MessagePack.decode(bytes) }
        #expect(error?.description == message)
    }

    @Test func extensionsNestedInExtensionsCountTowardsTheDepthLimit() {
        var bytes: [UInt8] = [0xa0]
        for _ in 0 ..< 5000 {
            let data = [0x93, 0xa0] + bytes + [0xa0]  // text, the value inside as a name, text
            bytes = [0xc9] + withUnsafeBytes(of: UInt32(data.count).bigEndian, Array.init) + [0x01] + data
        }
        let error = #expect(throws: MessagePack.DecodeError.self) { try MessagePack.decode(bytes) }
        #expect(error?.description == "malformed value at byte 0: malformed secret text")
    }

    @Test func stringsHoldingSecretsBecomeReferencesAndResolveToThemselves() throws {
        var set = SecretSet()
        let inserted = [set.insert(name: "ref_pw", value: "hunter2-ref"), set.insert(name: "ref_both", value: "hunter2-refhunter2-ref"),
                        set.insert(name: "ref_short", value: "ab")]
        #expect(inserted == [true, true, false])
        let value: Value = ["x hunter2-refhunter2-ref y hunter2-ref": ["hunter2-ref", 3, "plain"]]
        let referenced = set.referencing(value)
        let key = Value.secret(Self.text(["x ", "ref_both", " y ", "ref_pw", ""]))
        #expect(referenced == [key: [.secret(Self.text(["", "ref_pw", ""])), 3, "plain"]])
        #expect(referenced.firstSecret(path: "v")?.names == ["ref_both", "ref_pw"])
        #expect(Value.map(["a": [1, ["b": .secret(Self.text(["", "ref_pw", ""]))]]]).firstSecret(path: "env")?.path == "env.a[2].b")

        setenv("DKRUN_SECRET_REF_PW", "hunter2-ref", 1)
        setenv("DKRUN_SECRET_REF_BOTH", "hunter2-refhunter2-ref", 1)
        #expect(try referenced.resolvingSecrets() == value)
        let missing = Value.secret(Self.text(["", "ref_not_here", ""]))
        let error = #expect(throws: SecretStore.NotFound.self) { try missing.resolvingSecrets() }
        #expect(error?.description.hasPrefix("secret 'ref_not_here' not found (looked in $DKRUN_SECRET_REF_NOT_HERE") == true)
    }

    /// Secrets with the characters encoders escape, and the text they are masked in.
    static let awkward = [
        #"q1"sec\ret"#, "q2-line one\nline two", "q3-tab\there", "q4-it's 'quoted'", "q5-ünï \u{2028}sep",
        "q6-ctl\u{01}\u{7f}\u{1b}x", "q7 correct horse battery staple", "q8\u{85}nel\r\n",
    ]

    /// Every string in a decoded value, keys included.
    static func strings(_ v: Value) -> [String] {
        switch v {
        case .string: return [v.stringValue!]
        case .array(let a): return a.flatMap(strings)
        case .map(let m): return m.flatMap { strings($0.key) + strings($0.value) }
        default: return []
        }
    }

    @Test(arguments: awkward)
    func noEncodingDkrunWritesLetsASecretThroughTheMask(secret: String) throws {
        SecretMask.register(name: "awkward", value: secret)
        let long = String(repeating: "word ", count: 30)
        let documents: [Value] = [
            .text(secret), ["key": .text(secret)], [.text(secret): 1], [.text("before " + secret + " after")],
            ["nested": ["deeper": .text(long + secret + long)]], .text("'" + secret + "'"),
        ]
        for document in documents {
            let json = SecretMask.apply(JSON.encode(document))
            #expect(!Self.strings(try JSON.decode(Array(json.utf8))).contains { $0.contains(secret) }, "\(json)")
            let yaml = SecretMask.apply(try YAML.dump(document))
            // A plain scalar masked whole would read as an alias (*...): named for reading back.
            let readable = yaml.replacingOccurrences(of: "****", with: "MASKED")
            #expect(!Self.strings(try YAML.load(readable, source: "masked")).contains { $0.contains(secret) }, "\(yaml)")
            #expect(!json.contains(secret) && !yaml.contains(secret))
        }
        let shell = "'" + secret.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        #expect(SecretMask.apply("echo \(shell) | tool") == "echo '****' | tool")
        // Values are masked before they are encoded: no encoder can split a secret up then.
        #expect(SecretMask.apply(Value.map([.text(secret): [.text("x" + secret)]])) == ["****": ["x****"]])
    }

    @Test func aStateLeavingAWorkerHoldsItsSecretsByName() {
        SecretMask.register(name: "state_token", value: "tok-state-42")
        let state = TaskState(.failed, message: "refused tok-state-42", result: ["Bearer tok-state-42", #"{"t":"tok-state-42"}"#],
                              children: [TaskState(.success, result: "tok-state-42")], traceback: "at tok-state-42")
        let masked = state.maskingSecrets()
        #expect(masked.message == "refused ****" && masked.traceback == "at ****")
        #expect(masked.result == [.secret(Self.text(["Bearer ", "state_token", ""])), .secret(Self.text([#"{"t":""#, "state_token", #""}"#]))])
        #expect(masked.children[0].result == .secret(Self.text(["", "state_token", ""])))
        #expect(!SecretMask.register(name: "state_short", value: "ab"))
        #expect(SecretMask.apply("ab cd") == "ab cd")
    }
}
