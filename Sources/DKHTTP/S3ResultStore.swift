import DKCore

/// Results in an S3 bucket (or any server of the S3 API), one object per key, over the S3
/// REST API with path-style URLs (`ENDPOINT/BUCKET/PREFIXKEY`), signed with SigV4.
public struct S3ResultStore: ResultStore {
    public let location: ResultLocation
    private let s3: S3Location
    private let signer: SigV4
    private let endpoint: String

    /// Credentials from the secrets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    /// AWS_SESSION_TOKEN (`dk.secrets`: DKRUN_SECRET_*, the secrets file or directory), else
    /// from those environment variables; the region from the location, else AWS_DEFAULT_REGION
    /// or AWS_REGION, else us-east-1.
    public init(_ s3: S3Location) throws {
        func credential(_ name: String) -> String? { (try? SecretStore.lookup(name)) ?? Self.setting(name) }
        guard let accessKey = credential("AWS_ACCESS_KEY_ID"), let secretKey = credential("AWS_SECRET_ACCESS_KEY") else {
            throw ResultStoreError("no AWS credentials: set the secrets or environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let region = Self.region(of: s3)
        self.s3 = s3
        location = .s3(s3)
        signer = SigV4(accessKey: accessKey, secretKey: secretKey, sessionToken: credential("AWS_SESSION_TOKEN"),
                       region: region, service: "s3")
        var base = s3.endpoint ?? "https://s3.\(region).amazonaws.com"
        while base.hasSuffix("/") { base.removeLast() }
        endpoint = base
    }

    /// The location's region, else AWS_DEFAULT_REGION or AWS_REGION, else us-east-1.
    static func region(of s3: S3Location, environment: (String) -> String? = Files.environment) -> String {
        s3.region ?? setting("AWS_DEFAULT_REGION", in: environment) ?? setting("AWS_REGION", in: environment) ?? "us-east-1"
    }

    /// An environment variable that is set to something: set but empty counts as unset, as
    /// AWS's own clients take it.
    static func setting(_ name: String, in environment: (String) -> String? = Files.environment) -> String? {
        environment(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    public func read(_ key: String) throws -> [UInt8]? {
        let response = try send("GET", key, body: nil)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, "GET", key) }
        return response.body
    }

    public func write(_ key: String, _ bytes: [UInt8]) throws {
        let response = try send("PUT", key, body: bytes)
        guard response.status == 200 else { throw failure(response, "PUT", key) }
    }

    private func send(_ method: String, _ key: String, body: [UInt8]?) throws -> HTTPResponse {
        let path = "/\(s3.bucket)/\(s3.prefix)\(key)"
        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false).map { SigV4.encode(String($0)) }
            .joined(separator: "/")
        let payloadHash = Digests.sha256Hex(body ?? [])
        let host = String(endpoint.drop { $0 != "/" }.dropFirst(2).prefix { $0 != "/" })
        let signed = [("host", host), ("x-amz-content-sha256", payloadHash)]
        var request = HTTPRequest(url: endpoint + encodedPath)
        request.method = method
        request.body = body
        request.retries = 3
        // Not libcurl's default for a body, a form, which servers may parse as one.
        request.headers = [("x-amz-content-sha256", payloadHash), ("Content-Type", "application/octet-stream")]
            + signer.sign(method: method, path: path, headers: signed, payloadHash: payloadHash, amzDate: SigV4.amzDate(Clock.wall()))
        do {
            return try HTTPClient.perform(request)
        } catch {
            throw ResultStoreError("\(error)")
        }
    }

    /// An S3 error answer: its status and the `<Code>` and `<Message>` of its XML body.
    private func failure(_ response: HTTPResponse, _ method: String, _ key: String) -> ResultStoreError {
        let text = String(decoding: response.body.prefix(4096), as: UTF8.self)
        func element(_ name: String) -> String? {
            guard let open = text.firstRange(of: "<\(name)>"), let close = text[open.upperBound...].firstRange(of: "</\(name)>")
            else { return nil }
            return String(text[open.upperBound ..< close.lowerBound])
        }
        let detail = [element("Code"), element("Message")].compactMap { $0 }.joined(separator: ": ")
        return ResultStoreError("\(method) \(key): HTTP \(response.status)\(detail.isEmpty ? "" : " (\(detail))")")
    }
}
