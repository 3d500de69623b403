import DKCore
@testable import DKHTTP
import DKTestSupport
import Foundation
import Testing

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Performs a request to `url` with `configure` applied (the tests' way to set a field or two).
func perform(_ url: String, _ configure: (inout HTTPRequest) -> Void = { _ in }) throws -> HTTPResponse {
    var request = HTTPRequest(url: url)
    configure(&request)
    return try HTTPClient.perform(request)
}

/// The bodies `onBody` received, from whichever thread libcurl calls it on.
final class ReceivedChunks: @unchecked Sendable {
    private let lock = NSLock()
    private var _chunks: [String] = []
    var chunks: [String] { lock.withLock { _chunks } }
    func append(_ bytes: [UInt8]) { lock.withLock { _chunks.append(String(decoding: bytes, as: UTF8.self)) } }
}

/// HTTPClient against a real server on 127.0.0.1 (Tests/Fixtures/http_server.py, whose
/// docstring lists the paths used here).
@Suite struct HTTPClientTests {
    /// Which hosts no proxy is used for (the proxies themselves: ResultsTests, KubeResultsTests).
    @Test(arguments: [
        ("http://127.0.0.1:9000/bucket/key", true), ("https://127.10.0.1:6443/api", true), ("http://localhost/", true),
        ("http://LOCALHOST:80", true), ("http://[::1]:8080/x", true), ("http://user:pw@127.0.0.1/", true),
        ("http://127.0.0.1.example.com/", false), ("http://127.0.0.256/", false), ("http://10.0.0.1/", false),
        ("https://s3.us-east-1.amazonaws.com/b", false), ("http://example.com/?next=http://127.0.0.1/", false), ("127.0.0.1", false),
    ])
    func loopbackHosts(url: String, loopback: Bool) {
        #expect(HTTPClient.isLoopback(url: url) == loopback)
    }

    @Test func statusBodyAndHeaders() throws {
        let server = try HTTPTestServer()
        let hello = try perform(server.url("/hello"))
        #expect(hello.status == 200)
        #expect(hello.text == "hello")
        // The server sends "X-Test" and "Content-Length".
        #expect(hello.headers["x-test"] == "yes")
        #expect(hello.headers["content-length"] == "5")
        #expect(hello.headers.keys.allSatisfy { $0 == $0.lowercased() })
        #expect(try perform(server.url("/repeated")).headers["x-repeated"] == "one, two")
        // An error status is an answer, not a failure.
        let missing = try perform(server.url("/missing"))
        #expect(missing.status == 404)
        #expect(missing.text == "not found")
    }

    @Test(arguments: [
        ("GET", nil as String?), ("POST", "payload"), ("POST", ""), ("PUT", #"{"a": 1}"#), ("DELETE", nil), ("post", "x=1"),
    ])
    func methodsHeadersAndBodiesReachTheServer(method: String, body: String?) throws {
        let server = try HTTPTestServer()
        let response = try perform(server.url("/echo")) {
            $0.method = method
            $0.body = body.map { Array($0.utf8) }
            $0.headers = [("X-Token", "abc")]
        }
        let echo = try JSON.decode(response.body)
        #expect(echo["method"] == .text(method.uppercased()))
        #expect(echo["body"] == .text(body ?? ""))
        #expect(echo["headers"]?["x-token"] == "abc")
    }

    @Test func headAsksForTheHeadersOnly() throws {
        let server = try HTTPTestServer()
        let response = try perform(server.url("/hello")) { $0.method = "HEAD" }
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == "5")
        #expect(response.body.isEmpty)
    }

    @Test func redirectsAreFollowedUnlessTurnedOff() throws {
        let server = try HTTPTestServer()
        let followed = try perform(server.url("/redirect"))
        #expect(followed.status == 200)
        #expect(followed.text == "hello")
        #expect(followed.headers["location"] == nil)  // the headers are the last answer's
        let kept = try perform(server.url("/redirect")) { $0.followRedirects = false }
        #expect(kept.status == 302)
        #expect(kept.headers["location"] == "/hello")
        #expect(kept.body.isEmpty)
    }

    /// `/flaky/N` fails N times with 503; `/hits/…` counts the attempts that reached it.
    @Test(arguments: [
        ("GET", "/flaky/2", 3, 200, 3),
        ("GET", "/flaky/5", 1, 503, 2),  // the retries run out: the last answer is the result
        ("GET", "/flaky/1", 0, 503, 1),
        ("PUT", "/flaky/1", 1, 200, 2),
        ("DELETE", "/flaky/1", 1, 200, 2),
        ("POST", "/flaky/1", 3, 503, 1),  // not idempotent: never sent twice
    ])
    func idempotentMethodsAreRetriedOnServerErrors(method: String, path: String, retries: Int, status: Int, attempts: Int) throws {
        let server = try HTTPTestServer()
        let response = try perform(server.url(path)) {
            $0.method = method
            $0.retries = retries
        }
        #expect(response.status == status)
        #expect(try perform(server.url("/hits" + path)).text == "\(attempts)")
    }

    @Test(arguments: [("GET", 3), ("POST", 1)])
    func idempotentMethodsAreRetriedOnNetworkFailures(method: String, attempts: Int) throws {
        let server = try HTTPTestServer()
        let error = #expect(throws: HTTPError.self) {
            try perform(server.url("/truncated")) {
                $0.method = method
                $0.retries = 2
            }
        }
        #expect(error?.kind == "transfer failed")
        #expect(try perform(server.url("/hits/truncated")).text == "\(attempts)")
    }

    /// Each failure kind, by its whole description; `<n>` stands for a number that varies
    /// (milliseconds). A URL from "/" is on the test server.
    @Test(arguments: [
        ("http://127.0.0.1:9/", 30.0, "connection failed",
         "Failed to connect to 127.0.0.1 port 9 after <n> ms: Couldn't connect to server", true),
        ("http://no-such-host.invalid/", 30, "DNS lookup failed", "Could not resolve host: no-such-host.invalid", false),
        ("/slow", 0.3, "timed out", "Operation timed out after <n> milliseconds with 0 bytes received", true),
        ("/truncated", 30, "transfer failed", "transfer closed with 5 bytes remaining to read", true),
        ("/loop", 30, "too many redirects", "Maximum (10) redirects followed", false),
        ("nope://x/", 30, "bad URL", #"Protocol "nope" not supported or disabled in libcurl"#, false),
    ])
    func failuresSayWhatFailedForWhichURL(url: String, timeout: Double, kind: String, detail: String, retryable: Bool) throws {
        let server = try HTTPTestServer()
        let url = url.hasPrefix("/") ? server.url(url) : url
        let error = try #require(throws: HTTPError.self) { try perform(url) { $0.timeout = timeout } }
        #expect(error.kind == kind)
        #expect(error.url == url)
        #expect(error.retryable == retryable)
        let expected = NSRegularExpression.escapedPattern(for: "\(kind) for \(url): \(detail)")
            .replacingOccurrences(of: "<n>", with: #"\d+"#)
        #expect(try Regex(expected).wholeMatch(in: error.description) != nil, "\(error.description)")
    }

    /// dkrun opens libcurl at the first request (Curl): where it cannot, the error names the
    /// library and the package that provides it, and the dynamic loader's reason.
    @Test func aLibcurlThatCannotBeLoadedIsNamed() throws {
        let error = try #require(throws: Curl.LoadError.self) { try Curl.open("libcurl.so.0-absent").get() }
        #expect(error.message == "libcurl.so.0-absent: cannot open shared object file: No such file or directory"
            + " (HTTP requests need libcurl, libcurl.so.0-absent: install the libcurl4 package)")
    }

    @Test func onBodyReceivesTheBodyInsteadOfTheResponse() throws {
        let server = try HTTPTestServer()
        let received = ReceivedChunks()
        let response = try perform(server.url("/hello")) {
            $0.onBody = { bytes in
                received.append(bytes)
                return true
            }
        }
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(received.chunks.joined() == "hello")
    }

    /// `/watch` sends its second event 3 seconds after the first: a client that stops after
    /// the first never sees it, and the stop is not an error.
    @Test func onBodyReturningFalseEndsTheTransfer() throws {
        let server = try HTTPTestServer()
        let received = ReceivedChunks()
        let response = try perform(server.url("/watch")) {
            $0.onBody = { bytes in
                received.append(bytes)
                return false
            }
        }
        #expect(response.status == 200)
        #expect(received.chunks == ["event 1\n"])
    }

    enum Trust: CaseIterable {
        case serverCAData, serverCAFile, otherCAData, systemCAs, insecure
    }

    @Test(arguments: Trust.allCases)
    func tlsIsVerifiedAgainstTheGivenCA(trust: Trust) throws {
        let dir = try TempDir()
        let good = try makeCertificate(in: dir.path, name: "server")
        let other = try makeCertificate(in: dir.path, name: "other")
        let goodPEM = try Data(contentsOf: URL(fileURLWithPath: good.cert))
        let otherPEM = try Data(contentsOf: URL(fileURLWithPath: other.cert))
        let server = try HTTPTestServer(tls: good)
        let url = server.url("/hello")
        let request = {
            try perform(url) {
                switch trust {
                case .serverCAData: $0.caData = Array(goodPEM)
                case .serverCAFile: $0.caFile = good.cert
                case .otherCAData: $0.caData = Array(otherPEM)
                case .systemCAs: break
                case .insecure: $0.insecure = true
                }
            }
        }
        switch trust {
        case .serverCAData, .serverCAFile, .insecure:
            #expect(try request().text == "hello")
        case .otherCAData, .systemCAs:
            let error = try #require(throws: HTTPError.self) { try request() }
            #expect(error.description == "TLS failed for \(url): SSL certificate problem: self-signed certificate")
            #expect(!error.retryable)
        }
    }
}
