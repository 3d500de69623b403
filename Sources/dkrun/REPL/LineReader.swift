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

/// libedit's readline. Completion asks `complete` (set once; libedit's callbacks are C
/// functions and reach it through this global).
struct EditLineReader: LineReader {
    nonisolated(unsafe) static var complete: ((String) -> [String])?
    private let historyFile: String?

    init(complete: @escaping (String) -> [String]) {
        EditLineReader.complete = complete
        historyFile = Files.environment("HOME").map { $0 + "/.dkrun_history" }
        if let historyFile { read_history(historyFile) }
        // Dots and colons belong to the word being completed: `flow.ta<TAB>`.
        rl_completer_word_break_characters = UnsafeMutablePointer(mutating: EditLineReader.wordBreaks)
        rl_completion_append_character = 0
        // dkrun handles SIGINT itself (an interrupted read ends the line); libedit catching
        // signals would also keep a closed terminal's SIGHUP from ending the REPL.
        rl_catch_signals = 0
        rl_attempted_completion_function = { text, _, _ in
            rl_attempted_completion_over = 1
            return rl_completion_matches(text) { text, state in
                if state == 0 { EditLineReader.matches = EditLineReader.complete?(String(cString: text!)) ?? [] }
                guard Int(state) < EditLineReader.matches.count else { return nil }
                return strdup(EditLineReader.matches[Int(state)])
            }
        }
    }

    private static let wordBreaks: UnsafePointer<CChar> = UnsafePointer(strdup(" \t\n\"'`@$><=;|&{(,)}[]+-*/%^~#"))
    nonisolated(unsafe) private static var matches: [String] = []

    mutating func read(prompt: String) -> (line: String?, interrupted: Bool) {
        Interruption.reset()
        guard let raw = readline(prompt) else {
            // Ctrl-C makes readline fail like end of input; the flag tells them apart.
            return (nil, Interruption.requested)
        }
        defer { free(raw) }
        return (String(cString: raw), false)
    }

    mutating func remember(_ entry: String) {
        guard !entry.trimmingSpaces.isEmpty else { return }
        add_history(entry)
        if let historyFile { write_history(historyFile) }
    }
}
