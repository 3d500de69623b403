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
        var hasher = Crypto.SHA256()
        for part in parts { hasher.update(data: part) }
        return hex(Array(hasher.finalize()))
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: bytes))
    }

    public static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<Crypto.SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lowercase hex digits, two per byte.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
