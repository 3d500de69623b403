import DKCore

/// The streams a script writes to (io.stdout, io.stderr), by the names the prelude gives them.
enum ScriptStream: String {
    case stdout, stderr
}

/// Bytes a script writes in pieces (io.write), cut into lines: each line is handed on when
/// its end is written, and what is left when the writer is done (`flush`). A line that grows
/// past `longest` bytes without an end is handed on in pieces of that size. Secrets are
/// masked before the text is cut, so that one with a line break in it goes whole.
struct OutputLines {
    static let longest = 65_536
    private var pending: [UInt8] = []

    mutating func append(_ bytes: [UInt8], line: (String) -> Void) {
        pending += bytes
        guard bytes.contains(UInt8(ascii: "\n")) || pending.count >= Self.longest else { return }
        pending = SecretMask.apply(pending)
        var start = 0
        var scanned = 0
        while scanned < pending.count {
            if pending[scanned] == UInt8(ascii: "\n") {
                line(String(decoding: pending[start ..< scanned], as: UTF8.self))
                start = scanned + 1
            } else if scanned - start + 1 >= Self.longest {
                line(String(decoding: pending[start ... scanned], as: UTF8.self))
                start = scanned + 1
            }
            scanned += 1
        }
        pending.removeFirst(start)
    }

    /// What was written since the last line's end, taken (`print` ends that line).
    mutating func takePartial() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    mutating func flush(line: (String) -> Void) {
        if !pending.isEmpty { line(String(decoding: SecretMask.apply(pending), as: UTF8.self)) }
        pending = []
    }
}
