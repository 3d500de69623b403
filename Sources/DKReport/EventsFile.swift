import DKCore

/// A saved `--json-events` stream (or a history's log file) read strictly: every line must be
/// one event, and one that is not is bad input naming the file and line.
public enum EventsFile {
    public static func read(_ path: String) throws -> [RunEvent] {
        let text: [UInt8]
        do { text = try Files.read(path, limit: .events) } catch { throw CommandError.badInput("cannot read events: \(error)") }
        var events: [RunEvent] = []
        for (n, line) in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            let value: Value
            do { value = try JSON.decode(Array(line), maxDepth: Value.maxMessageDepth) } catch {
                throw CommandError.badInput("\(path):\(n + 1): not a JSON event line (\(error))")
            }
            guard let event = RunEvent(value: value) else {
                throw CommandError.badInput("\(path):\(n + 1): not a dkrun event (as --json-events prints them: an object with "
                    + "\"event\" flow_started, task_state, log or flow_finished and its fields)")
            }
            events.append(event)
        }
        guard !events.isEmpty else { throw CommandError.badInput("\(path): holds no events") }
        return events
    }
}
