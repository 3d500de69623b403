#if canImport(Glibc)
import Glibc
#endif

/// Length-prefixed MessagePack messages over file descriptors: a 4-byte big-endian length,
/// then one encoded value. The worker task server and the Python bridge speak it. A frame is
/// at most `SizeLimit.frame` long, on both sides.
public struct FrameChannel {
    public let input: Int32
    public let output: Int32

    public init(input: Int32, output: Int32) { self.input = input; self.output = output }

    public struct ChannelError: CategorizedError {
        public let description: String
        public var exitStatus: ExitStatus { .failure }
    }

    /// A message above the frame limit, refused before anything is written.
    public struct TooLarge: CategorizedError {
        public let size: Int
        public var description: String { "a message of \(SizeLimit.frame.refusal(size))" }
        public var exitStatus: ExitStatus { .failure }
    }

    /// The next message, or nil at a clean end of input (between frames).
    public func receive() throws -> Value? {
        try receiveFrame().map(MessagePack.decode)
    }

    /// The body of the next frame, undecoded (nil at a clean end of input), so that a caller
    /// can answer a body that is not MessagePack and go on with the next frame.
    public func receiveFrame() throws -> [UInt8]? {
        guard let header = try readExactly(4, allowEOF: true) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= SizeLimit.frame.bytes else {
            throw ChannelError(description: "a frame announcing \(SizeLimit.frame.refusal(length))")
        }
        return try readExactly(length, allowEOF: false)!
    }

    public func send(_ value: Value) throws {
        let body = MessagePack.encode(value)
        guard body.count <= SizeLimit.frame.bytes else { throw TooLarge(size: body.count) }
        let n = body.count
        var frame: [UInt8] = [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
        frame += body
        var offset = 0
        while offset < frame.count {
            let written = frame.withUnsafeBytes { write(output, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChannelError(description: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// `n` bytes, read as they come: memory grows with what arrives, not with what a header
    /// announces, and each byte is copied once (a pipe gives 64 KiB at a time).
    private func readExactly(_ n: Int, allowEOF: Bool) throws -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(n, 1 << 16))
        while out.count < n {
            let wanted = min(chunk.count, n - out.count)
            let got = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, wanted) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ChannelError(description: "read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                if out.isEmpty && allowEOF { return nil }
                throw ChannelError(description: "input ended inside a frame")
            }
            out.append(contentsOf: chunk[0 ..< got])
        }
        return out
    }
}
