#if canImport(Glibc)
import Glibc
#endif

/// Length-prefixed MessagePack messages over file descriptors: a 4-byte big-endian length,
/// then one encoded value. The worker task server and the Python bridge speak it.
public struct FrameChannel {
    public let input: Int32
    public let output: Int32
    public static let maxFrame = 1 << 30

    public init(input: Int32, output: Int32) { self.input = input; self.output = output }

    public struct ChannelError: CategorizedError {
        public let description: String
        public var exitStatus: ExitStatus { .failure }
    }

    /// The next message, or nil at a clean end of input (between frames).
    public func receive() throws -> Value? {
        guard let header = try readExactly(4, allowEOF: true) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= Self.maxFrame else { throw ChannelError(description: "frame of \(length) bytes is too large") }
        return try MessagePack.decode(try readExactly(length, allowEOF: false)!)
    }

    public func send(_ value: Value) throws {
        let body = MessagePack.encode(value)
        let n = UInt32(body.count)
        var frame: [UInt8] = [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
        frame += body
        var offset = 0
        while offset < frame.count {
            let written = frame[offset...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChannelError(description: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    private func readExactly(_ n: Int, allowEOF: Bool) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var offset = 0
        while offset < n {
            let got = out[offset...].withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ChannelError(description: "read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                if offset == 0 && allowEOF { return nil }
                throw ChannelError(description: "input ended inside a frame")
            }
            offset += got
        }
        return out
    }
}
