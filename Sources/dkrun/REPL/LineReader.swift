internal import CEdit
import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// Where the REPL's input comes from: libedit on a terminal (editing, history in
/// ~/.dkrun_history, tab completion), or plain lines from a pipe (no prompts, scriptable).
protocol LineReader {
    /// The next line; nil at end of input. `interrupted` is set when Ctrl-C ended the line.
    mutating func read(prompt: String) -> (line: String?, interrupted: Bool)
    mutating func remember(_ entry: String)
}

struct PipeReader: LineReader {
    mutating func read(prompt: String) -> (line: String?, interrupted: Bool) { (readLine(strippingNewline: true), false) }
    mutating func remember(_ entry: String) {}
}

/// libedit's readline, opened by the first EditLineReader (CEdit/shim.h). Completion asks
/// `complete` (set once; libedit's callbacks are C functions and reach it through this global).
struct EditLineReader: LineReader {
    nonisolated(unsafe) static var complete: ((String) -> [String])?
    private let edit: UnsafePointer<dk_edit>
    private let historyFile: String?

    /// Fails when libedit cannot be opened, naming the package that provides it.
    init(complete: @escaping (String) -> [String]) throws {
        edit = try EditLineReader.library.get()
        EditLineReader.complete = complete
        historyFile = Files.environment("HOME").map { $0 + "/.dkrun_history" }
        if let historyFile { _ = edit.pointee.read_history(historyFile) }
        // Dots and colons belong to the word being completed: `flow.ta<TAB>`.
        edit.pointee.completer_word_break_characters.pointee = UnsafeMutablePointer(mutating: EditLineReader.wordBreaks)
        edit.pointee.completion_append_character.pointee = 0
        // dkrun handles SIGINT itself (an interrupted read ends the line); libedit catching
        // signals would also keep a closed terminal's SIGHUP from ending the REPL.
        edit.pointee.catch_signals.pointee = 0
        edit.pointee.attempted_completion_function.pointee = { text, _, _ in
            guard case .success(let edit) = EditLineReader.library else { return nil }
            edit.pointee.attempted_completion_over.pointee = 1
            return edit.pointee.completion_matches(text) { text, state in
                if state == 0 { EditLineReader.matches = EditLineReader.complete?(String(cString: text!)) ?? [] }
                guard Int(state) < EditLineReader.matches.count else { return nil }
                return strdup(EditLineReader.matches[Int(state)])
            }
        }
    }

    private static let soname = "libedit.so.2"
    private static let library: Result<UnsafePointer<dk_edit>, CommandError> = {
        var error: UnsafePointer<CChar>? = nil
        guard let edit = dk_edit_open(soname, &error) else {
            let reason = error.map { String(cString: $0) } ?? "cannot load \(soname)"
            return .failure(.failure("\(reason) (the REPL on a terminal needs libedit, \(soname): install the libedit2 package)"))
        }
        return .success(edit)
    }()
    private static let wordBreaks: UnsafePointer<CChar> = UnsafePointer(strdup(" \t\n\"'`@$><=;|&{(,)}[]+-*/%^~#"))
    nonisolated(unsafe) private static var matches: [String] = []

    mutating func read(prompt: String) -> (line: String?, interrupted: Bool) {
        Interruption.reset()
        guard let raw = edit.pointee.readline(prompt) else {
            // Ctrl-C makes readline fail like end of input; the flag tells them apart.
            return (nil, Interruption.requested)
        }
        defer { free(raw) }
        return (String(cString: raw), false)
    }

    mutating func remember(_ entry: String) {
        guard !entry.trimmingSpaces.isEmpty else { return }
        _ = edit.pointee.add_history(entry)
        if let historyFile { _ = edit.pointee.write_history(historyFile) }
    }
}
