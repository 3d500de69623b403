import DKCore

/// The frame reader on a stream of any bytes, read to its end or its first error.
enum FramesFuzz {
    static func run(_ input: [UInt8]) {
        let channel = FrameChannel(input: ScratchFile.hold(input), output: -1)
        while let message = try? channel.receive() { _ = message }
    }
}
