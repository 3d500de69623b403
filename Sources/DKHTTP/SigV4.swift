import DKCore

/// AWS Signature Version 4: the `Authorization` header of a request to an AWS API (S3 here).
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
public struct SigV4: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?
    public var region: String
    public var service: String

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String, service: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// The headers that sign the request: `x-amz-date`, `x-amz-security-token` with a session
    /// token, and `Authorization`. `headers` are those the request sends that are signed
    /// (`host` at least); `amzDate` is `YYYYMMDD'T'HHMMSS'Z'`.
    public func sign(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
                     payloadHash: String, amzDate: String) -> [(String, String)] {
        var added = [("x-amz-date", amzDate)]
        if let sessionToken { added.append(("x-amz-security-token", sessionToken)) }
        let signed = (headers + added).map { ($0.0.lowercased(), $0.1.trimmed) }.sorted { $0.0 < $1.0 }
        let signedNames = signed.map(\.0).joined(separator: ";")
        let canonicalQuery = query.map { (Self.encode($0.0), Self.encode($0.1)) }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalRequest = [
            method.uppercased(), path.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }
                .joined(separator: "/"),
            canonicalQuery, signed.map { "\($0.0):\($0.1)\n" }.joined(), signedNames, payloadHash,
        ].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Digests.sha256Hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
        let signature = Digests.hex(Digests.hmacSHA256(key: signingKey(day: day), Array(stringToSign.utf8)))
        return added + [("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)")]
    }

    /// The key derived for one day, region and service.
    public func signingKey(day: String) -> [UInt8] {
        var key = Array("AWS4\(secretKey)".utf8)
        for part in [day, region, service, "aws4_request"] { key = Digests.hmacSHA256(key: key, Array(part.utf8)) }
        return key
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` for wall seconds.
    public static func amzDate(_ t: Double) -> String {
        // Clock.iso8601 is "YYYY-MM-DDTHH:MM:SS...Z"-shaped: keep its digits and the T.
        let iso = Clock.iso8601(t)
        return String(iso.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 asks.
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "0") ... UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            default:
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
