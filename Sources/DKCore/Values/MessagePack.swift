/// The value codec: MessagePack (https://msgpack.org/spec), written canonically so that equal
/// values always give equal bytes: map keys in `Value.canonicallyPrecedes` order, and each
/// number in its shortest MessagePack form (integers) or as float 64 (floats).
public enum MessagePack {
    /// A byte sequence that is not a complete, well-formed MessagePack value.
    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let offset: Int
        public let problem: String
        public var description: String { "malformed value at byte \(offset): \(problem)" }
    }

    public static func encode(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        encode(value, into: &out)
        return out
    }

    public static func encode(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(0xc0)
        case .bool(let b): out.append(b ? 0xc3 : 0xc2)
        case .int(let i): encodeInt(i, into: &out)
        case .float(let d):
            out.append(0xcb)
            appendBigEndian(d.bitPattern, into: &out)
        case .string(let s):
            encodeHeader(count: s.count, fix: 0xa0, fixLimit: 32, base: 0xd9, into: &out)
            out.append(contentsOf: s)
        case .array(let a):
            encodeHeader(count: a.count, fix: 0x90, fixLimit: 16, base: 0xdc, into: &out, hasByteForm: false)
            for element in a { encode(element, into: &out) }
        case .map:
            let entries = value.sortedEntries
            encodeHeader(count: entries.count, fix: 0x80, fixLimit: 16, base: 0xde, into: &out, hasByteForm: false)
            for (k, v) in entries {
                encode(k, into: &out)
                encode(v, into: &out)
            }
        }
    }

    private static func encodeInt(_ i: Int64, into out: inout [UInt8]) {
        switch i {
        case 0...0x7f: out.append(UInt8(i))
        case -32 ..< 0: out.append(UInt8(bitPattern: Int8(i)))
        case 0x80...0xff: out.append(0xcc); out.append(UInt8(i))
        case 0x100...0xffff: out.append(0xcd); appendBigEndian(UInt16(i), into: &out)
        case 0x1_0000...0xffff_ffff: out.append(0xce); appendBigEndian(UInt32(i), into: &out)
        case Int64(Int8.min) ..< -32: out.append(0xd0); out.append(UInt8(bitPattern: Int8(i)))
        case Int64(Int16.min) ..< Int64(Int8.min): out.append(0xd1); appendBigEndian(UInt16(bitPattern: Int16(i)), into: &out)
        case Int64(Int32.min) ..< Int64(Int16.min): out.append(0xd2); appendBigEndian(UInt32(bitPattern: Int32(i)), into: &out)
        default: out.append(i > 0 ? 0xcf : 0xd3); appendBigEndian(UInt64(bitPattern: i), into: &out)
        }
    }

    /// Writes a str/array/map header. Strings have an 8-bit length form (str 8); arrays and
    /// maps go from the fix form straight to 16 bits, so their `base` is the 16-bit marker.
    private static func encodeHeader(count: Int, fix: UInt8, fixLimit: Int, base: UInt8,
                                     into out: inout [UInt8], hasByteForm: Bool = true) {
        if count < fixLimit {
            out.append(fix | UInt8(count))
        } else if hasByteForm && count <= 0xff {
            out.append(base); out.append(UInt8(count))
        } else if count <= 0xffff {
            out.append(hasByteForm ? base + 1 : base); appendBigEndian(UInt16(count), into: &out)
        } else {
            out.append(hasByteForm ? base + 2 : base + 1); appendBigEndian(UInt32(count), into: &out)
        }
    }

    private static func appendBigEndian<T: FixedWidthInteger>(_ v: T, into out: inout [UInt8]) {
        var be = v.bigEndian
        withUnsafeBytes(of: &be) { out.append(contentsOf: $0) }
    }

    /// Decodes exactly one value that spans all of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws -> Value {
        var reader = Reader(bytes: bytes)
        let value = try reader.value(depth: 0)
        guard reader.offset == bytes.count else {
            throw DecodeError(offset: reader.offset, problem: "\(bytes.count - reader.offset) bytes after the value")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        static let maxDepth = 512

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw DecodeError(offset: offset, problem: "unexpected end of input") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count - offset >= n else {
                throw DecodeError(offset: offset, problem: "unexpected end of input (\(n) bytes announced)")
            }
            defer { offset += n }
            return bytes[offset ..< offset + n]
        }

        mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
            var v: T = 0
            for b in try take(MemoryLayout<T>.size) { v = v << 8 | T(b) }
            return v
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < Reader.maxDepth else { throw DecodeError(offset: offset, problem: "nested too deeply") }
            let start = offset
            let b = try byte()
            switch b {
            case 0x00...0x7f: return .int(Int64(b))
            case 0xe0...0xff: return .int(Int64(Int8(bitPattern: b)))
            case 0x80...0x8f: return try map(Int(b & 0x0f), depth)
            case 0x90...0x9f: return try array(Int(b & 0x0f), depth)
            case 0xa0...0xbf: return .string(Array(try take(Int(b & 0x1f))))
            case 0xc0: return .null
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xc4: return .string(Array(try take(Int(try bigEndian(UInt8.self)))))
            case 0xc5: return .string(Array(try take(Int(try bigEndian(UInt16.self)))))
            case 0xc6: return .string(Array(try take(Int(try bigEndian(UInt32.self)))))
            case 0xca: return .float(Double(Float(bitPattern: try bigEndian(UInt32.self))))
            case 0xcb: return .float(Double(bitPattern: try bigEndian(UInt64.self)))
            case 0xcc: return .int(Int64(try bigEndian(UInt8.self)))
            case 0xcd: return .int(Int64(try bigEndian(UInt16.self)))
            case 0xce: return .int(Int64(try bigEndian(UInt32.self)))
            case 0xcf:
                let u = try bigEndian(UInt64.self)
                guard u <= UInt64(Int64.max) else { throw DecodeError(offset: start, problem: "unsigned integer \(u) does not fit in 64 signed bits") }
                return .int(Int64(u))
            case 0xd0: return .int(Int64(Int8(bitPattern: try bigEndian(UInt8.self))))
            case 0xd1: return .int(Int64(Int16(bitPattern: try bigEndian(UInt16.self))))
            case 0xd2: return .int(Int64(Int32(bitPattern: try bigEndian(UInt32.self))))
            case 0xd3: return .int(Int64(bitPattern: try bigEndian(UInt64.self)))
            case 0xd9: return .string(Array(try take(Int(try bigEndian(UInt8.self)))))
            case 0xda: return .string(Array(try take(Int(try bigEndian(UInt16.self)))))
            case 0xdb: return .string(Array(try take(Int(try bigEndian(UInt32.self)))))
            case 0xdc: return try array(Int(try bigEndian(UInt16.self)), depth)
            case 0xdd: return try array(Int(try bigEndian(UInt32.self)), depth)
            case 0xde: return try map(Int(try bigEndian(UInt16.self)), depth)
            case 0xdf: return try map(Int(try bigEndian(UInt32.self)), depth)
            default: throw DecodeError(offset: start, problem: "unsupported type byte 0x\(String(b, radix: 16))")
            }
        }

        mutating func array(_ n: Int, _ depth: Int) throws -> Value {
            // Each element takes at least one byte: a bound on `n` before reserving memory.
            guard n <= bytes.count - offset else { throw DecodeError(offset: offset, problem: "array of \(n) elements exceeds the input") }
            var a: [Value] = []
            a.reserveCapacity(n)
            for _ in 0 ..< n { a.append(try value(depth: depth + 1)) }
            return .array(a)
        }

        mutating func map(_ n: Int, _ depth: Int) throws -> Value {
            guard n <= bytes.count - offset else { throw DecodeError(offset: offset, problem: "map of \(n) entries exceeds the input") }
            var m: [Value: Value] = [:]
            m.reserveCapacity(n)
            for _ in 0 ..< n {
                let keyOffset = offset
                let k = try value(depth: depth + 1)
                guard m.updateValue(try value(depth: depth + 1), forKey: k) == nil else {
                    throw DecodeError(offset: keyOffset, problem: "duplicate map key")
                }
            }
            return .map(m)
        }
    }
}
