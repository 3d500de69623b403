/// The value codec: MessagePack (https://msgpack.org/spec), written canonically so that equal
/// values always give equal bytes: map entries ordered by their encoded keys (bytewise, as
/// canonical CBOR does), integers in their shortest form, floats as float 64. A secret text
/// (`Value.secret`) is extension type 1 holding the array of its parts.
public enum MessagePack {
    static let secretExtension: Int8 = 1

    /// A byte sequence that is not a complete, well-formed MessagePack value.
    public struct DecodeError: CategorizedError, Equatable {
        public var exitStatus: ExitStatus { .badInput }

        public let offset: Int
        public let problem: String
        public var description: String { "malformed value at byte \(offset): \(problem)" }
    }

    public static func encode(_ value: Value) -> [UInt8] {
        var w = Writer()
        w.value(value)
        return w.bytes
    }

    /// A canonical map from entries whose keys and values are both already encoded: for
    /// splicing a large value encoded once (a flow description) into an enclosing map.
    public static func encodeMap(encodedEntries: [(key: [UInt8], value: [UInt8])]) -> [UInt8] {
        let parts = mapParts(encodedEntries: encodedEntries)
        // Sized at once: a flow description is tens of MB, and growing by doubling held twice that.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { bytes.append(contentsOf: part) }
        return bytes
    }

    /// `encodeMap`'s bytes as the parts they are joined from (the header, then each key and
    /// value in canonical order), for hashing them without joining them.
    public static func mapParts(encodedEntries: [(key: [UInt8], value: [UInt8])]) -> [[UInt8]] {
        var header = Writer()
        header.mapHeader(count: encodedEntries.count)
        var parts = [header.bytes]
        for (k, v) in encodedEntries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            parts.append(k)
            parts.append(v)
        }
        return parts
    }

    /// Writes MessagePack. `value` writes maps canonically; the header and scalar methods
    /// let a caller that knows its keys' canonical order write a map directly.
    public struct Writer {
        public var bytes: [UInt8] = []

        public init() { bytes.reserveCapacity(256) }

        public mutating func value(_ value: Value) {
            switch value {
            case .null: bytes.append(0xc0)
            case .bool(let b): bool(b)
            case .int(let i): int(i)
            case .float(let d): float(d)
            case .string(let s): string(bytes: s)
            case .array(let a):
                arrayHeader(count: a.count)
                for element in a { self.value(element) }
            case .map(let m): map(m) { $0.value($1) }
            case .secret(let s): ext(MessagePack.secretExtension, MessagePack.encode(.array(s.parts.map(Value.string))))
            }
        }

        /// A map of text keys, as `value(Value(textKeys: m))` writes it, without making that value.
        public mutating func map(textKeys m: [String: Value]) { map(m) { $0.string($1) } }

        /// A map in canonical order: entries by their encoded keys. The keys are encoded into
        /// one buffer, not an array each: a map of 100,000 entries (a fan-in task's inputs)
        /// made 100,000 arrays.
        private mutating func map<Key>(_ m: [Key: Value], key: (inout Writer, Key) -> Void) {
            var keys = Writer()
            var entries: [(key: Range<Int>, value: Value)] = []
            entries.reserveCapacity(m.count)
            for (k, v) in m {
                let start = keys.bytes.count
                key(&keys, k)
                entries.append((start ..< keys.bytes.count, v))
            }
            entries.sort { keys.bytes[$0.key].lexicographicallyPrecedes(keys.bytes[$1.key]) }
            mapHeader(count: entries.count)
            for (k, v) in entries {
                bytes.append(contentsOf: keys.bytes[k])
                self.value(v)
            }
        }

        /// An extension value, in its shortest form (fixext for the sizes that have one).
        mutating func ext(_ type: Int8, _ data: [UInt8]) {
            let fixed: [Int: UInt8] = [1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8]
            if let marker = fixed[data.count] {
                bytes.append(marker)
            } else if data.count <= 0xff {
                bytes.append(0xc7); bytes.append(UInt8(data.count))
            } else if data.count <= 0xffff {
                bytes.append(0xc8); appendBigEndian(UInt16(data.count))
            } else {
                bytes.append(0xc9); appendBigEndian(UInt32(data.count))
            }
            bytes.append(UInt8(bitPattern: type))
            bytes.append(contentsOf: data)
        }

        public mutating func bool(_ b: Bool) { bytes.append(b ? 0xc3 : 0xc2) }

        public mutating func float(_ d: Double) {
            bytes.append(0xcb)
            appendBigEndian(d.bitPattern)
        }

        public mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { buf in
                header(count: buf.count, fix: 0xa0, fixLimit: 32, base: 0xd9)
                bytes.append(contentsOf: buf)
            }
        }

        /// A map key: a string.
        public mutating func key(_ s: String) { string(s) }

        public mutating func string(bytes s: [UInt8]) {
            header(count: s.count, fix: 0xa0, fixLimit: 32, base: 0xd9)
            bytes.append(contentsOf: s)
        }

        public mutating func arrayHeader(count: Int) { header(count: count, fix: 0x90, fixLimit: 16, base: 0xdc, hasByteForm: false) }
        public mutating func mapHeader(count: Int) { header(count: count, fix: 0x80, fixLimit: 16, base: 0xde, hasByteForm: false) }

        public mutating func int(_ i: Int64) {
            switch i {
            case 0...0x7f: bytes.append(UInt8(i))
            case -32 ..< 0: bytes.append(UInt8(bitPattern: Int8(i)))
            case 0x80...0xff: bytes.append(0xcc); bytes.append(UInt8(i))
            case 0x100...0xffff: bytes.append(0xcd); appendBigEndian(UInt16(i))
            case 0x1_0000...0xffff_ffff: bytes.append(0xce); appendBigEndian(UInt32(i))
            case Int64(Int8.min) ..< -32: bytes.append(0xd0); bytes.append(UInt8(bitPattern: Int8(i)))
            case Int64(Int16.min) ..< Int64(Int8.min): bytes.append(0xd1); appendBigEndian(UInt16(bitPattern: Int16(i)))
            case Int64(Int32.min) ..< Int64(Int16.min): bytes.append(0xd2); appendBigEndian(UInt32(bitPattern: Int32(i)))
            default: bytes.append(i > 0 ? 0xcf : 0xd3); appendBigEndian(UInt64(bitPattern: i))
            }
        }

        /// A str/array/map header. Strings have an 8-bit length form (str 8); arrays and maps
        /// go from the fix form straight to 16 bits, so their `base` is the 16-bit marker.
        private mutating func header(count: Int, fix: UInt8, fixLimit: Int, base: UInt8, hasByteForm: Bool = true) {
            if count < fixLimit {
                bytes.append(fix | UInt8(count))
            } else if hasByteForm && count <= 0xff {
                bytes.append(base); bytes.append(UInt8(count))
            } else if count <= 0xffff {
                bytes.append(hasByteForm ? base + 1 : base); appendBigEndian(UInt16(count))
            } else {
                bytes.append(hasByteForm ? base + 2 : base + 1); appendBigEndian(UInt32(count))
            }
        }

        private mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
            var be = v.bigEndian
            withUnsafeBytes(of: &be) { bytes.append(contentsOf: $0) }
        }
    }

    /// Decodes exactly one value that spans all of `bytes`. MessagePack is only ever dkrun's
    /// own messages, so arrays and maps nest at most `Value.maxMessageDepth` levels; string
    /// map keys must be UTF-8 text.
    public static func decode(_ bytes: [UInt8]) throws -> Value {
        var reader = Reader(bytes: bytes)
        let value: Value
        do {
            value = try reader.value(depth: 0)
        } catch let error as ValueError {
            throw DecodeError(offset: reader.offset, problem: error.message(root: ""))
        }
        guard reader.offset == bytes.count else {
            throw DecodeError(offset: reader.offset, problem: "\(bytes.count - reader.offset) bytes after the value")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

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

        /// A value inside `depth` arrays and maps. A `ValueError` leaves `offset` at the start
        /// of the array, map or key it is about.
        mutating func value(depth: Int) throws -> Value {
            let start = offset
            let b = try byte()
            if depth >= Value.maxMessageDepth, (0x80 ... 0x9f).contains(b) || (0xdc ... 0xdf).contains(b) {
                offset = start
                throw ValueError.tooDeep(limit: Value.maxMessageDepth)
            }
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
            case 0xc7: return try ext(Int(try bigEndian(UInt8.self)), start, depth)
            case 0xc8: return try ext(Int(try bigEndian(UInt16.self)), start, depth)
            case 0xc9: return try ext(Int(try bigEndian(UInt32.self)), start, depth)
            case 0xd4...0xd8: return try ext(1 << Int(b - 0xd4), start, depth)
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

        /// An extension value of `n` bytes: a secret text is the only type dkrun writes. Its
        /// data is read one level deeper, so that extensions nested in extensions count too.
        mutating func ext(_ n: Int, _ start: Int, _ depth: Int) throws -> Value {
            let type = Int8(bitPattern: try byte())
            let data = Array(try take(n))
            guard type == MessagePack.secretExtension else {
                throw DecodeError(offset: start, problem: "unsupported extension type \(type)")
            }
            var inner = Reader(bytes: data)
            guard let items = (try? inner.value(depth: depth + 1))?.arrayValue, inner.offset == data.count,
                  let text = SecretText(parts: items.compactMap { if case .string(let b) = $0 { b } else { nil } }),
                  text.parts.count == items.count
            else { throw DecodeError(offset: start, problem: "malformed secret text") }
            return .secret(text)
        }

        mutating func array(_ n: Int, _ depth: Int) throws -> Value {
            // Each element takes at least one byte: a bound on `n` before reserving memory.
            guard n <= bytes.count - offset else { throw DecodeError(offset: offset, problem: "array of \(n) elements exceeds the input") }
            var a: [Value] = []
            a.reserveCapacity(n)
            for i in 0 ..< n { a.append(try ValueError.at(.index(i + 1)) { try value(depth: depth + 1) }) }
            return .array(a)
        }

        mutating func map(_ n: Int, _ depth: Int) throws -> Value {
            guard n <= bytes.count - offset else { throw DecodeError(offset: offset, problem: "map of \(n) entries exceeds the input") }
            var m: [Value: Value] = [:]
            m.reserveCapacity(n)
            for _ in 0 ..< n {
                let keyOffset = offset
                let k = try ValueError.at(.inKey) { try value(depth: depth + 1) }
                if case .string(let bytes) = k, !Value.isUTF8(bytes) {
                    offset = keyOffset
                    throw ValueError.keyNotUTF8
                }
                guard m.updateValue(try ValueError.at(.key(k)) { try value(depth: depth + 1) }, forKey: k) == nil else {
                    throw DecodeError(offset: keyOffset, problem: "duplicate map key")
                }
            }
            return .map(m)
        }
    }
}
