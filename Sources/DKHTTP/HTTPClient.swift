#if canImport(Glibc)
import Glibc
#endif
internal import CCurl
import DKCore

/// One HTTP request through libcurl: TLS verified by default (with an optional CA bundle),
/// proxy variables honoured as curl does (but for loopback hosts), redirects followed, retries on connection failures
/// and 5xx answers for idempotent methods.
public struct HTTPRequest: Sendable {
    public var method: String = "GET"
    public var url: String
    public var headers: [(String, String)] = []
    public var body: [UInt8]? = nil
    /// Seconds for the whole transfer (0: none).
    public var timeout: Double = 30
    /// Ends the transfer, and retries, whatever `timeout` says: a task's deadline, Ctrl-C.
    public var deadline: Deadline = .none
    public var retries: Int = 0
    public var caFile: String? = nil
    /// PEM bytes of the CAs to trust (instead of the system's), of a client certificate and
    /// its key: Kubernetes credentials often come inline.
    public var caData: [UInt8]? = nil
    public var clientCertificate: [UInt8]? = nil
    public var clientKey: [UInt8]? = nil
    public var insecure: Bool = false
    public var followRedirects: Bool = true
    /// Receives the body as it arrives (watches, followed logs) instead of collecting it;
    /// returning false ends the transfer.
    public var onBody: (@Sendable ([UInt8]) -> Bool)? = nil

    public init(url: String) { self.url = url }
}

public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names in lower case; repeated headers joined with ", ".
    public let headers: [String: String]
    public let body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A failed transfer, said the way a person can act on: which URL, and what went wrong.
public struct HTTPError: CategorizedError {
    /// A URL, CA bundle or client certificate that cannot be used is the user's input (a
    /// kubeconfig's, say); anything else, the network or the server, is a failure.
    public var exitStatus: ExitStatus { Self.inputKinds.contains(kind) ? .badInput : .failure }
    static let inputKinds: Set = ["bad URL", "unusable TLS credentials"]

    public let url: String
    public let kind: String
    public let detail: String
    public var description: String { "\(kind) for \(url): \(detail)" }
    /// Worth another attempt: the network, not the request, failed.
    public var retryable: Bool { ["connection failed", "timed out", "transfer failed"].contains(kind) }
}

public enum HTTPClient {
    public static func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        let idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(request.method.uppercased())
        let deadline = request.deadline
        var attempt = 0
        var mayRetry: Bool { idempotent && attempt < request.retries && deadline.stop == nil }
        while true {
            do {
                let response = try performOnce(request)
                if response.status >= 500 && mayRetry {
                    attempt += 1
                    backoff(attempt, retryAfter: response.headers["retry-after"].flatMap(Double.init), deadline: deadline)
                    continue
                }
                return response
            } catch let error as HTTPError where error.retryable && mayRetry {
                attempt += 1
                backoff(attempt, retryAfter: nil, deadline: deadline)
            }
        }
    }

    /// Waits before retry `attempt` (from 1), as `backoffDelay` says, or until `deadline` stops.
    public static func backoff(_ attempt: Int, retryAfter: Double?, deadline: Deadline = .none) {
        deadline.sleep(backoffDelay(attempt, retryAfter: retryAfter))
    }

    /// Seconds to wait before retry `attempt` (from 1): what the server's Retry-After says
    /// (at most 30 s), else 0.1 s doubling to 3.2 s.
    public static func backoffDelay(_ attempt: Int, retryAfter: Double?) -> Double {
        retryAfter.map { min(30, max(0, $0)) } ?? 0.1 * Double(1 << min(attempt, 5))
    }

    /// Collects what libcurl writes; its address is the callbacks' context.
    private final class Sink {
        var body: [UInt8] = []
        var headerLines: [String] = []
        var onBody: (([UInt8]) -> Bool)?
        var stopped = false
        var deadline = Deadline.none
    }

    /// Whether the URL's host is `localhost`, 127.0.0.0/8 or ::1.
    static func isLoopback(url: String) -> Bool {
        guard let scheme = url.firstRange(of: "://") else { return false }
        var authority = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host = authority.hasPrefix("[") ? authority.dropFirst().prefix { $0 != "]" } : authority.prefix { $0 != ":" }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return host.lowercased() == "localhost" || host == "::1"
            || (octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil })
    }

    private static func performOnce(_ request: HTTPRequest) throws -> HTTPResponse {
        let curl = try Curl.shared.mapError { HTTPError(url: request.url, kind: "cannot load libcurl", detail: $0.message) }.get().api
        guard let handle = curl.pointee.easy_init() else { throw HTTPError(url: request.url, kind: "curl error", detail: "cannot make a handle") }
        defer { curl.pointee.easy_cleanup(handle) }
        let sink = Sink()
        sink.onBody = request.onBody
        sink.deadline = request.deadline
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl.pointee.slist_free_all(headerList) }
        for (name, value) in request.headers { headerList = curl.pointee.slist_append(headerList, "\(name): \(value)") }

        // The transfer may take the request's timeout, or until the deadline when that comes first.
        let ownLimit = request.timeout > 0 ? request.timeout : Double.infinity
        let untilDeadline = request.deadline.remaining.flatMap { $0 < ownLimit ? $0 : nil }
        let limit = untilDeadline ?? ownLimit
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            dk_curl_setopt_string(curl, handle, CURLOPT_URL, request.url)
            // A proxy cannot reach this machine's loopback (a test server, kubesim's 127.10/16),
            // and libcurl sends even 127.0.0.1 to http_proxy or ALL_PROXY: "" turns it off, as
            // Go's clients (kubectl) do for loopback hosts.
            if isLoopback(url: request.url) { dk_curl_setopt_string(curl, handle, CURLOPT_PROXY, "") }
            dk_curl_setopt_string(curl, handle, CURLOPT_CUSTOMREQUEST, request.method.uppercased())
            if request.method.uppercased() == "HEAD" { dk_curl_setopt_long(curl, handle, CURLOPT_NOBODY, 1) }
            dk_curl_setopt_long(curl, handle, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
            dk_curl_setopt_long(curl, handle, CURLOPT_MAXREDIRS, 10)
            dk_curl_setopt_long(curl, handle, CURLOPT_NOSIGNAL, 1)
            dk_curl_setopt_long(curl, handle, CURLOPT_TIMEOUT_MS, limit.isFinite ? max(1, Numbers.clamped((limit * 1000).rounded(.up), to: Int.self)) : 0)
            // libcurl asks this at least once a second: what interrupts the deadline ends the transfer too.
            dk_curl_setopt_long(curl, handle, CURLOPT_NOPROGRESS, 0)
            dk_curl_setopt_pointer(curl, handle, CURLOPT_XFERINFODATA, context)
            dk_curl_setopt_progress(curl, handle) { context, _, _, _, _ in
                Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue().deadline.stop == nil ? 0 : 1
            }
            dk_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYPEER, request.insecure ? 0 : 1)
            dk_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYHOST, request.insecure ? 0 : 2)
            if let ca = request.caFile { dk_curl_setopt_string(curl, handle, CURLOPT_CAINFO, ca) }
            for (option, pem) in [(CURLOPT_CAINFO_BLOB, request.caData), (CURLOPT_SSLCERT_BLOB, request.clientCertificate),
                                  (CURLOPT_SSLKEY_BLOB, request.clientKey)] {
                if let pem { pem.withUnsafeBytes { _ = dk_curl_setopt_blob(curl, handle, option, $0.baseAddress, $0.count) } }
            }
            dk_curl_setopt_pointer(curl, handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            dk_curl_setopt_pointer(curl, handle, CURLOPT_HTTPHEADER, headerList)
            dk_curl_setopt_pointer(curl, handle, CURLOPT_WRITEDATA, context)
            dk_curl_setopt_callback(curl, handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
                if let onBody = sink.onBody {
                    guard onBody(Array(bytes)) else {
                        sink.stopped = true
                        return 0  // libcurl ends the transfer with a write error
                    }
                } else {
                    sink.body.append(contentsOf: bytes)
                }
                return size * count
            }
            dk_curl_setopt_pointer(curl, handle, CURLOPT_HEADERDATA, context)
            dk_curl_setopt_callback(curl, handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
                if line.hasPrefix("HTTP/") { sink.headerLines = [] }  // a new response (after a redirect)
                sink.headerLines.append(line)
                return size * count
            }
            if let body = request.body {
                return body.withUnsafeBufferPointer { buf in
                    dk_curl_setopt_long(curl, handle, CURLOPT_POSTFIELDSIZE, buf.count)
                    dk_curl_setopt_pointer(curl, handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafePointer(bitPattern: 1)!))
                    return curl.pointee.easy_perform(handle)
                }
            }
            return curl.pointee.easy_perform(handle)
        }
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && sink.stopped) else {
            if code == CURLE_OPERATION_TIMEDOUT, let untilDeadline {
                // libcurl's clock can run a little ahead of ours: let the deadline pass, so
                // that the caller sees the deadline, not the request, end the transfer.
                request.deadline.sleep(untilDeadline)
            }
            let detail = String(cString: errorBuffer).isEmpty
                ? curl.pointee.easy_strerror(code).map { String(cString: $0) } ?? "error \(code.rawValue)" : String(cString: errorBuffer)
            throw HTTPError(url: request.url, kind: kind(of: code), detail: detail)
        }
        var status = 0
        dk_curl_getinfo_long(curl, handle, CURLINFO_RESPONSE_CODE, &status)
        var headers: [String: String] = [:]
        for line in sink.headerLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmed
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        return HTTPResponse(status: status, headers: headers, body: sink.body)
    }

    private static func kind(of code: CURLcode) -> String {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return "DNS lookup failed"
        case CURLE_COULDNT_CONNECT: return "connection failed"
        case CURLE_OPERATION_TIMEDOUT: return "timed out"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR: return "TLS failed"
        case CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM: return "unusable TLS credentials"
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return "bad URL"
        case CURLE_TOO_MANY_REDIRECTS: return "too many redirects"
        default: return "transfer failed"
        }
    }
}
