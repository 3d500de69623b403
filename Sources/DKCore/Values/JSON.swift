/// JSON text from values, for `--json-events`, `inspect --json` and other output read by tools.
/// Map keys are written in canonical order, so equal values give equal text.
public enum JSON {
    public static func encode(_ value: Value) -> String {
        var out: [UInt8] = []
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func write(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .float(let d):
            // JSON has no NaN or infinities; null is what Python's json and JavaScript write.
            if d.isFinite {
                out.append(contentsOf: "\(d)".utf8)  // Swift writes "3.0" and "1e+16": both JSON
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map:
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in value.sortedEntries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if case .string(let s) = k { writeString(s, into: &out) } else { writeString(Array(JSON.encode(k).utf8), into: &out) }
                out.append(UInt8(ascii: ":"))
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes a byte string as a JSON string. Valid UTF-8 passes through; control characters
    /// are escaped; bytes that are not UTF-8 become U+FFFD, as JSON has no byte strings.
    private static func writeString(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out.append(contentsOf: "\\\"".utf8)
            case "\\": out.append(contentsOf: "\\\\".utf8)
            case "\n": out.append(contentsOf: "\\n".utf8)
            case "\r": out.append(contentsOf: "\\r".utf8)
            case "\t": out.append(contentsOf: "\\t".utf8)
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(scalar.value >> 4)])
                out.append(hex[Int(scalar.value & 0xf)])
            default: out.append(contentsOf: String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
