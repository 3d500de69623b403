/// Random (version 4) UUIDs, as text, without Foundation.
public enum UUID4 {
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = (0 ..< 16).map { _ in UInt8.random(in: 0 ... 255, using: &g) }
        bytes[6] = bytes[6] & 0x0f | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3f | 0x80  // RFC 4122 variant
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }
        return [hex[0 ..< 4], hex[4 ..< 6], hex[6 ..< 8], hex[8 ..< 10], hex[10 ..< 16]].map { $0.joined() }.joined(separator: "-")
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
