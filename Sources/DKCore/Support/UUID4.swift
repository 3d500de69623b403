/// Random (version 4) UUIDs, as text, without Foundation.
public enum UUID4 {
    /// Written byte by byte: joining strings (`joined(separator:)` over slices) made the runtime
    /// look up three protocol conformances, a third of a million instructions in a cold start.
    /// Two draws of 8 bytes (a system call each), not 16 of one.
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        let draws = [g.next(), g.next()]
        var bytes = (0 ..< 16).map { UInt8(truncatingIfNeeded: draws[$0 / 8] >> (8 * UInt64($0 % 8))) }
        bytes[6] = bytes[6] & 0x0f | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3f | 0x80  // RFC 4122 variant
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
