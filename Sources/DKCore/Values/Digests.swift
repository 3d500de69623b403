import Crypto

/// SHA-256 and HMAC-SHA-256 (swift-crypto), for payload, DAG and task identity hashes and for
/// signing S3 requests. One call style everywhere: `Digests.sha256Hex(bytes)`.
public enum Digests {
    /// The SHA-256 digest of `bytes` as 64 lowercase hex digits.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(Array(Crypto.SHA256.hash(data: bytes)))
    }

    /// `sha256Hex` of the parts one after the other, without joining them first.
    public static func sha256Hex(concatenating parts: [[UInt8]]) -> String {
        var hasher = SHA256Stream()
        for part in parts { hasher.update(part) }
        return hasher.hex()
    }

    /// A SHA-256 digest fed in parts. A copy goes on from where the original stood, so that a
    /// prefix many messages share is hashed once (a task's identity, `TaskIdentity.TaskPart`).
    public struct SHA256Stream: Sendable {
        private var hasher = Crypto.SHA256()

        public init() {}

        public mutating func update(_ bytes: [UInt8]) { hasher.update(data: bytes) }

        /// The digest of everything fed so far, as `sha256Hex` writes it.
        public func hex() -> String { hasher.finalize().withUnsafeBytes { Digests.hex($0) } }
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: bytes))
    }

    public static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<Crypto.SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lowercase hex digits, two per byte.
    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { hex($0) } }

    /// Written straight into the string's storage: a task's identity is hex digits, made per call.
    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = hexDigit(b >> 4)
                out[2 * i + 1] = hexDigit(b & 15)
            }
            return bytes.count * 2
        }
    }

    private static func hexDigit(_ d: UInt8) -> UInt8 { d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10 }
}
