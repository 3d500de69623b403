import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 that hands every request to a handler and writes its
/// answer: requests with a Content-Length body or none (GET, HEAD, POST, ...), one request per
/// connection (every answer says `Connection: close`), each connection on its own thread.
/// Enough for one person's browser in front of a forwarder; not a web server.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        /// The request target as sent: path and query.
        public var target: String
        public var headers: [(String, String)]
        public var body: [UInt8]
    }

    /// The port it listens on (the one the system chose, when asked for 0).
    public let port: Int
    private let socket: Int32
    private let handler: @Sendable (Request) -> HTTPResponse
    private static let headerLimit = 64 * 1024
    private static let bodyLimit = 64 * 1024 * 1024

    /// Listens on 127.0.0.1:`port` (0: any free port). A port in use is bad input.
    public init(port: Int, handler: @escaping @Sendable (Request) -> HTTPResponse) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandError.failure("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CommandError.badInput("cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        socket = fd
        self.handler = handler
    }

    deinit { close(socket) }

    /// Accepts connections until `stop` says so (it is asked a few times a second).
    public func serve(until stop: () -> Bool) {
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while !stop() {
            guard poll(&entry, 1, 200) > 0 else { continue }
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else { continue }
            pthread_detach(spawnThread { [self] in
                answer(connection)
                close(connection)
            })
        }
    }

    private func answer(_ connection: Int32) {
        let response: HTTPResponse
        var method = ""
        do {
            let request = try read(connection)
            method = request.method
            response = handler(request)
        } catch let error as BadRequest {
            response = HTTPResponse(status: error.status, headers: ["content-type": "text/plain; charset=utf-8"],
                                    body: Array((error.message + "\n").utf8))
        } catch {
            return
        }
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key })
        where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            head += "\(name): \(value)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        write(connection, Array(head.utf8) + (method == "HEAD" ? [] : response.body))
    }

    private struct BadRequest: Error {
        let status: Int
        let message: String
    }

    /// The request line, headers and Content-Length body.
    private func read(_ connection: Int32) throws -> Request {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            let n = recv(connection, &chunk, chunk.count, 0)
            guard n > 0 else { throw BadRequest(status: 400, message: "the request ended before its headers did") }
            let searchFrom = max(0, data.count - 3)
            data += chunk[0 ..< n]
            headEnd = data.indices.dropFirst(searchFrom).first { data[$0...].starts(with: separator) }
            if headEnd == nil && data.count > Self.headerLimit {
                throw BadRequest(status: 431, message: "request headers over \(Self.headerLimit) bytes")
            }
        }
        let lines = String(decoding: data[..<headEnd!], as: UTF8.self).split(separator: "\r\n" as Character, omittingEmptySubsequences: false)
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3, requestLine[1].hasPrefix("/") else {
            throw BadRequest(status: 400, message: "not an HTTP request line: \(lines[0].prefix(200))")
        }
        let headers: [(String, String)] = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmed)
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        if header("transfer-encoding") != nil {
            throw BadRequest(status: 411, message: "chunked request bodies are not supported: send a Content-Length")
        }
        let length = header("content-length").map { Int($0) ?? -1 } ?? 0
        guard length >= 0 && length <= Self.bodyLimit else {
            throw BadRequest(status: 400, message: "bad Content-Length (at most \(Self.bodyLimit) bytes)")
        }
        var body = Array(data[(headEnd! + 4)...])
        while body.count < length {
            let n = recv(connection, &chunk, chunk.count, 0)
            guard n > 0 else { throw BadRequest(status: 400, message: "the request ended before its body did") }
            body += chunk[0 ..< n]
        }
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers,
                       body: Array(body.prefix(length)))
    }

    private func write(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }  // the browser went away
            sent += n
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 411: "Length Required"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
