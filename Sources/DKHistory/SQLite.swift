import CSQLite
import DKCore

/// A value in or out of SQLite.
enum SQLValue: Equatable {
    case null
    case int(Int64)
    case real(Double)
    case text(String)

    var text: String? { if case .text(let s) = self { return s } else { return nil } }
    var int: Int64? { if case .int(let i) = self { return i } else { return nil } }
    /// A REAL column, or an INTEGER one (SQLite stores a whole REAL as an integer in some cases).
    var real: Double? {
        switch self {
        case .real(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    init(_ number: Double?) { self = number.map(SQLValue.real) ?? .null }
    init(_ number: Int?) { self = number.map { .int(Int64($0)) } ?? .null }
}

/// What SQLite answered, with the database's file. A busy database (another process holds its
/// write lock past the busy timeout) is a failure; any other problem with the file (not a
/// database, unreadable) is too: the history is not the user's input.
public struct SQLiteError: CategorizedError {
    public var exitStatus: ExitStatus { .failure }

    public let path: String
    /// SQLite's primary result code (SQLITE_BUSY, ...).
    let code: Int32
    let message: String
    /// How long the connection waited for a lock.
    let busyTimeout: Double

    var isBusy: Bool { code == SQLITE_BUSY }

    public var description: String {
        isBusy ? "\(path) is locked by another process (dkrun waited \(Clock.describe(busyTimeout)) for it)" : "\(path): \(message)"
    }
}

/// One connection to an SQLite database file: SQL run with bound values, rows read back,
/// transactions. Not for several threads at once: its owner uses it from one at a time.
final class SQLiteConnection: @unchecked Sendable {
    let path: String
    let busyTimeout: Double
    private let db: OpaquePointer

    /// Opens (creating) the database in WAL mode, so that readers never wait for a writer and
    /// several dkrun processes can write one after the other.
    /// - Parameter busyTimeout: how long a statement waits for another connection's lock.
    init(path: String, busyTimeout: Double) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(handle)
            throw SQLiteError(path: path, code: status & 0xff, message: message, busyTimeout: busyTimeout)
        }
        db = handle
        sqlite3_busy_timeout(db, Numbers.clamped(busyTimeout * 1000, to: Int32.self))
        do {
            // A history is worth less than a run's speed: WAL with NORMAL sync survives a
            // crash of dkrun, and loses at most the last transactions if the machine fails.
            _ = try rows("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
            // Closing leaves the WAL for the next connection (SQLite checkpoints it when it
            // holds 1,000 pages): a checkpoint, the WAL's and the -shm file's removal and their
            // re-creation by the next run cost every run four fdatasyncs and two unlinks, a few
            // milliseconds of a cold start (docs/performance.md, Cold start).
            dk_sqlite3_no_checkpoint_on_close(db)
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
    }

    deinit { sqlite3_close_v2(db) }

    /// Statements with no values and no rows (schema changes, pragmas).
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(db, sql, nil, nil, &error)
        defer { sqlite3_free(error) }
        guard status == SQLITE_OK else {
            throw SQLiteError(path: path, code: status & 0xff, message: error.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status)),
                              busyTimeout: busyTimeout)
        }
    }

    /// One statement with these values; its rows.
    @discardableResult
    func rows(_ sql: String, _ values: [SQLValue] = []) throws -> [[SQLValue]] {
        let statement = try Statement(self, sql)
        return try statement.run(values)
    }

    /// One statement run once for each list of values (prepared once).
    func each(_ sql: String, _ valueLists: [[SQLValue]]) throws {
        guard !valueLists.isEmpty else { return }
        let statement = try Statement(self, sql)
        for values in valueLists { try statement.run(values) }
    }

    /// `body` in a write transaction, taken at once (BEGIN IMMEDIATE): in WAL mode, a
    /// transaction that reads first and writes later cannot wait for the lock, only fail.
    func writing<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    fileprivate func error(_ status: Int32) -> SQLiteError {
        SQLiteError(path: path, code: status & 0xff, message: String(cString: sqlite3_errmsg(db)), busyTimeout: busyTimeout)
    }

    /// A prepared statement, finalised when released.
    private final class Statement {
        let connection: SQLiteConnection
        let handle: OpaquePointer

        init(_ connection: SQLiteConnection, _ sql: String) throws {
            self.connection = connection
            var handle: OpaquePointer?
            let status = sqlite3_prepare_v2(connection.db, sql, -1, &handle, nil)
            guard status == SQLITE_OK, let handle else { throw connection.error(status) }
            self.handle = handle
        }

        deinit { sqlite3_finalize(handle) }

        @discardableResult
        func run(_ values: [SQLValue]) throws -> [[SQLValue]] {
            sqlite3_reset(handle)
            // Values bound for every parameter replace the last run's (the history binds
            // every row's): clearing them first cost 5% of writing a row.
            if values.count < sqlite3_bind_parameter_count(handle) { sqlite3_clear_bindings(handle) }
            for (i, value) in values.enumerated() {
                let index = Int32(i + 1)
                let status: Int32
                switch value {
                case .null: status = sqlite3_bind_null(handle, index)
                case .int(let n): status = sqlite3_bind_int64(handle, index, n)
                case .real(let d): status = sqlite3_bind_double(handle, index, d)
                case .text(let s):
                    // The length is given: a text may hold NUL characters.
                    status = s.withCString { dk_sqlite3_bind_text(handle, index, $0, Int32(clamping: s.utf8.count)) }
                }
                guard status == SQLITE_OK else { throw connection.error(status) }
            }
            var out: [[SQLValue]] = []
            while true {
                let status = sqlite3_step(handle)
                if status == SQLITE_DONE { break }
                guard status == SQLITE_ROW else {
                    let error = connection.error(status)
                    sqlite3_reset(handle)
                    throw error
                }
                out.append((0 ..< sqlite3_column_count(handle)).map(column))
            }
            sqlite3_reset(handle)
            return out
        }

        private func column(_ i: Int32) -> SQLValue {
            switch sqlite3_column_type(handle, i) {
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, i))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
            case SQLITE_NULL: return .null
            default:
                guard let text = sqlite3_column_text(handle, i) else { return .null }
                let count = Int(sqlite3_column_bytes(handle, i))
                return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
            }
        }
    }
}
