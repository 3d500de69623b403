import DKCore
@testable import DKLua
import DKTestSupport
import Foundation
import Testing

@Suite(.serialized) struct HTTPTests {
    func lua(_ source: String) throws -> [Value] {
        let stdlib = try #require(ModuleSearchPath.standardLibrary)
        return try LuaHost(sources: .script(path: "t.lua", searchPath: ModuleSearchPath(directories: [stdlib])))
            .execute(source, chunkName: "=t")
    }

    func luaError(_ source: String) throws -> String? {
        do { _ = try lua(source); return nil } catch { return "\(error)" }
    }

    @Test func plainHTTP() throws {
        let server = try HTTPTestServer()
        let base = server.url("")
        #expect(try lua(#"local r = dk.http.get("\#(base)/hello") return r.status, r.body, r.headers["x-test"]"#) == [200, "hello", "yes"])
        #expect(try lua(#"local r = dk.http.get("\#(base)/redirect") return r.status, r.body"#) == [200, "hello"])
        #expect(try lua(#"return dk.http.get("\#(base)/missing").status"#) == [404])
        let echo = try lua(#"""
            local r = dk.http.request { method = "POST", url = "\#(base)/echo", body = "payload",
                                        headers = { ["X-Token"] = "abc", ["Content-Type"] = "text/plain" } }
            local e = dk.json.decode(r.body)
            return e.method, e.body, e.headers["x-token"]
            """#)
        #expect(echo == ["POST", "payload", "abc"])
        #expect(try lua(#"return dk.http.get("\#(base)/flaky/2", { retries = 3 }).body"#) == ["recovered after 2"])
        #expect(try lua(#"return dk.http.get("\#(base)/flaky/5", { retries = 1 }).status"#) == [503])
        #expect(try luaError(#"dk.http.get("\#(base)/slow", { timeout = 0.3 })"#)?.hasPrefix("t:1: dk.http: timed out for \(base)/slow: ") == true)
    }

    @Test func tlsIsVerifiedAgainstTheGivenCA() throws {
        let dir = "/tmp/dkcert-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try makeCertificate(in: dir, name: "server")
        let other = try makeCertificate(in: dir, name: "other")
        let server = try HTTPTestServer(tls: good)
        let url = server.url("/hello")
        #expect(try lua(#"return dk.http.get("\#(url)", { ca_file = "\#(good.cert)" }).body"#) == ["hello"])
        #expect(try luaError(#"dk.http.get("\#(url)", { ca_file = "\#(other.cert)" })"#)?.hasPrefix("t:1: dk.http: TLS failed for \(url): ") == true)
        #expect(try luaError(#"dk.http.get("\#(url)")"#)?.hasPrefix("t:1: dk.http: TLS failed for \(url): ") == true)
        #expect(try lua(#"return dk.http.get("\#(url)", { insecure = true }).status"#) == [200])
    }

    @Test(arguments: [
        (#"dk.http.get("http://127.0.0.1:1/")"#, "t:1: dk.http: connection failed for http://127.0.0.1:1/: "),
        (#"dk.http.get("http://no-such-host.invalid/")"#, "t:1: dk.http: DNS lookup failed for http://no-such-host.invalid/: "),
        (#"dk.http.request { url = "http://x/", verb = "GET" }"#, "t:1: bad argument #1 to 'request' (unknown field 'verb')"),
        (#"dk.http.request { method = "GET" }"#, "t:1: bad argument #1 to 'request' (field 'url' is required)"),
        // Numbers no transfer can take: an error naming the field, not a crash (Double to Int).
        (#"dk.http.get("http://127.0.0.1:1/", { timeout = math.huge })"#,
         "t:1: dk.http: timeout: a number of seconds from 0 to 1e9 expected, got inf"),
        (#"dk.http.get("http://127.0.0.1:1/", { timeout = 1e300 })"#,
         "t:1: dk.http: timeout: a number of seconds from 0 to 1e9 expected, got 1e+300"),
        (#"dk.http.get("http://127.0.0.1:1/", { timeout = -(0/0) })"#,
         "t:1: dk.http: timeout: a number of seconds from 0 to 1e9 expected, got nan"),
        (#"dk.http.get("http://127.0.0.1:1/", { retries = 1e18 })"#,
         "t:1: dk.http: retries: an integer from 0 to 100 expected, got 1e+18"),
    ])
    func failuresSayWhatFailed(source: String, prefix: String) throws {
        #expect(try luaError(source)?.hasPrefix(prefix) == true)
    }
}
