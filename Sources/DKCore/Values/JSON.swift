/// JSON text from values, for `--json-events`, `inspect --json` and other output read by tools.
/// Map keys are written in canonical order, so equal values give equal text.
public enum JSON {
    public static func encode(_ value: Value) -> String {
        var out: [UInt8] = []
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func write(_ value: Value, into out: inout [UInt8]) {
        write(value, inKey: false, into: &out)
    }

    /// A map key that is not a string is written as a string of its JSON text. Within that
    /// text, a key that is a table is written as `"{...}"` or `"[...]"`: JSON quoted in JSON
    /// doubles its escapes at each level, so keys within keys would grow exponentially.
    private static func write(_ value: Value, inKey: Bool, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .float(let d):
            // JSON has no NaN or infinities; null is what Python's json and JavaScript write.
            if d.isFinite {
                out.append(contentsOf: d.description.utf8)  // Swift writes "3.0" and "1e+16": both JSON
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .string(let s): writeString(s, into: &out)
        case .secret(let s): writeString(s.description, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, inKey: inKey, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map:
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in value.sortedEntries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeKey(k, inKey: inKey, into: &out)
                out.append(UInt8(ascii: ":"))
                write(v, inKey: inKey, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeKey(_ key: Value, inKey: Bool, into out: inout [UInt8]) {
        switch key {
        case .string(let s): writeString(s, into: &out)
        case .array where inKey: writeString(Array("[...]".utf8), into: &out)
        case .map where inKey: writeString(Array("{...}".utf8), into: &out)
        default:
            var text: [UInt8] = []
            write(key, inKey: true, into: &text)
            writeString(text, into: &out)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ bytes: [UInt8], into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { writeString($0, into: &out) }
    }

    /// `write(.text(text))` from the text's UTF-8 where it is (RunEvent.writeJSON, for every
    /// event the run history writes).
    static func writeString(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.withUTF8 { writeString($0, into: &out) }
    }

    /// Writes a byte string as a JSON string. Valid UTF-8 passes through; control characters
    /// are escaped; bytes that are not UTF-8 become U+FFFD, as JSON has no byte strings.
    private static func writeString(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (names, states, messages) are printable ASCII with nothing to escape,
        // or a few quotes (a result location): runs of plain bytes are copied at once, as
        // the run history writes every event.
        var plain = 0  // bytes[plain..<i] are plain and not yet written
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if isPlain(byte) {
                i += 1
                continue
            }
            out.append(contentsOf: bytes[plain ..< i])
            if byte >= 0x80 {
                // Only text beyond ASCII is decoded, for its invalid bytes (U+FFFD). What came
                // before is whole scalars: decoding from here gives what decoding it all would.
                for scalar in String(decoding: bytes[i...], as: UTF8.self).unicodeScalars { writeEscaped(scalar, into: &out) }
                out.append(UInt8(ascii: "\""))
                return
            }
            writeEscaped(Unicode.Scalar(byte), into: &out)
            i += 1
            plain = i
        }
        out.append(contentsOf: bytes[plain...])
        out.append(UInt8(ascii: "\""))
    }

    /// Printable ASCII that a JSON string holds as it is.
    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    private static func writeEscaped(_ scalar: Unicode.Scalar, into out: inout [UInt8]) {
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
        case _ where scalar.isASCII: out.append(UInt8(scalar.value))
        default: out.append(contentsOf: String(scalar).utf8)
        }
    }
}

extension JSON {
    /// JSON text that is not one well-formed value, with the byte offset (from 1) of the problem.
    public struct DecodeError: CategorizedError, Equatable {
        public var exitStatus: ExitStatus { .badInput }

        public let offset: Int
        public let problem: String
        public var description: String { "\(problem) at byte \(offset)" }
    }

    /// Decodes one JSON value. Integers without a fraction or exponent that fit in 64 bits
    /// are integers; other numbers are floats; null is nil. Arrays and objects nest at most
    /// `maxDepth` levels; object keys must be UTF-8 text; a `\u` escape of half a surrogate
    /// pair alone is refused, as it has no UTF-8 form (Python would make it a string that it
    /// cannot encode either).
    public static func decode(_ bytes: [UInt8], maxDepth: Int = Value.maxDepth) throws -> Value {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipSpace()
        let value: Value
        do {
            value = try parser.value(depth: 0)
        } catch let error as ValueError {
            throw parser.error(error.message(root: ""))
        }
        parser.skipSpace()
        guard parser.offset == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var offset = 0

        init(bytes: [UInt8], maxDepth: Int) { self.bytes = bytes; self.maxDepth = maxDepth }

        func error(_ problem: String) -> DecodeError { DecodeError(offset: offset + 1, problem: problem) }

        mutating func skipSpace() {
            while offset < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[offset]) { offset += 1 }
        }

        mutating func expect(_ literal: String, _ value: Value) throws -> Value {
            let l = Array(literal.utf8)
            guard bytes.count - offset >= l.count, Array(bytes[offset ..< offset + l.count]) == l else {
                throw error("invalid literal")
            }
            offset += l.count
            return value
        }

        /// A value inside `depth` arrays and objects. A `ValueError` leaves `offset` where it is.
        mutating func value(depth: Int) throws -> Value {
            guard offset < bytes.count else { throw error("unexpected end of input") }
            switch bytes[offset] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maxDepth else { throw ValueError.tooDeep(limit: maxDepth) }
                return bytes[offset] == UInt8(ascii: "{") ? try object(depth) : try array(depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(Character(UnicodeScalar(bytes[offset])))'")
            }
        }

        mutating func object(_ depth: Int) throws -> Value {
            offset += 1
            var m: [Value: Value] = [:]
            skipSpace()
            if offset < bytes.count && bytes[offset] == UInt8(ascii: "}") { offset += 1; return .map(m) }
            while true {
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let keyOffset = offset
                let keyBytes = try string()
                guard Value.isUTF8(keyBytes) else { offset = keyOffset; throw ValueError.keyNotUTF8 }
                let key = Value.string(keyBytes)
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
                offset += 1
                skipSpace()
                m[key] = try ValueError.at(.key(key)) { try value(depth: depth + 1) }
                skipSpace()
                guard offset < bytes.count else { throw error("unexpected end of input in an object") }
                if bytes[offset] == UInt8(ascii: "}") { offset += 1; return .map(m) }
                guard bytes[offset] == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
                offset += 1
            }
        }

        mutating func array(_ depth: Int) throws -> Value {
            offset += 1
            var a: [Value] = []
            skipSpace()
            if offset < bytes.count && bytes[offset] == UInt8(ascii: "]") { offset += 1; return .array(a) }
            while true {
                skipSpace()
                a.append(try ValueError.at(.index(a.count + 1)) { try value(depth: depth + 1) })
                skipSpace()
                guard offset < bytes.count else { throw error("unexpected end of input in an array") }
                if bytes[offset] == UInt8(ascii: "]") { offset += 1; return .array(a) }
                guard bytes[offset] == UInt8(ascii: ",") else { throw error("expected ',' or ']'") }
                offset += 1
            }
        }

        mutating func number() throws -> Value {
            let start = offset
            var isFloat = false
            if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            func digits() -> Int {
                let s = offset
                while offset < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
                return offset - s
            }
            guard digits() > 0 else { throw error("invalid number") }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
                offset += 1
                isFloat = true
                guard digits() > 0 else { throw error("invalid number") }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                offset += 1
                isFloat = true
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
                guard digits() > 0 else { throw error("invalid number") }
            }
            let text = String(decoding: bytes[start ..< offset], as: UTF8.self)
            if !isFloat, let i = Int64(text) { return .int(i) }
            guard let d = Double(text) else { throw DecodeError(offset: start + 1, problem: "invalid number") }
            return .float(d)
        }

        mutating func hex4() throws -> UInt32 {
            guard bytes.count - offset >= 4 else { throw error("invalid \\u escape") }
            var v: UInt32 = 0
            for b in bytes[offset ..< offset + 4] {
                guard let digit = Character(UnicodeScalar(b)).hexDigitValue else { throw error("invalid \\u escape") }
                v = v << 4 | UInt32(digit)
            }
            offset += 4
            return v
        }

        /// The character of a `\uXXXX` escape (`offset` after its `u`), or of a surrogate pair
        /// of two; half a pair alone is an error at its backslash.
        mutating func escapedScalar() throws -> Unicode.Scalar {
            let start = offset - 2
            let unit = try hex4()
            func unpaired(_ what: String) -> DecodeError {
                let text = String(decoding: bytes[start ..< start + 6], as: UTF8.self)
                return DecodeError(offset: start + 1, problem: "lone \(what) surrogate \(text) (half of a UTF-16 pair, with no UTF-8 form)")
            }
            switch unit {
            case 0xdc00 ..< 0xe000: throw unpaired("low")
            case 0xd800 ..< 0xdc00:
                guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw unpaired("high")
                }
                offset += 2
                let low = try hex4()
                guard (0xdc00 ..< 0xe000).contains(low) else { throw unpaired("high") }
                return Unicode.Scalar(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))!  // U+10000 to U+10FFFF
            default: return Unicode.Scalar(unit)!  // below U+10000, and no surrogate
            }
        }

        mutating func string() throws -> [UInt8] {
            offset += 1
            var out: [UInt8] = []
            while true {
                guard offset < bytes.count else { throw error("unterminated string") }
                let b = bytes[offset]
                offset += 1
                switch b {
                case UInt8(ascii: "\""): return out
                case UInt8(ascii: "\\"):
                    guard offset < bytes.count else { throw error("unterminated string") }
                    let e = bytes[offset]
                    offset += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        UTF8.encode(try escapedScalar()) { out.append($0) }
                    default:
                        offset -= 1
                        throw error("invalid escape")
                    }
                case 0 ..< 0x20:
                    offset -= 1
                    throw error("control character in a string")
                default: out.append(b)
                }
            }
        }
    }
}
