import DKCore
#if canImport(Glibc)
import Glibc
#endif

/// dkrun's run history (docs/results.md): an SQLite database of flow runs and their task runs,
/// `runs.sqlite`, and a file of events per run (`RunLog`), in `history/` under `Product.home`.
/// Several dkrun processes write it at once: the database is in WAL mode, each write is one
/// short transaction, and a writer waits `busyTimeout` for another's lock.
public final class RunHistory {
    /// A history this dkrun cannot use: written by a newer dkrun, or not made by dkrun.
    public struct SchemaError: CategorizedError {
        public var exitStatus: ExitStatus { .badInput }
        public let description: String
    }

    /// How long a write waits for another process's: long enough for many runs writing at
    /// once, short enough that a stuck lock is reported.
    public static let defaultBusyTimeout = 5.0

    /// The schema, one step per version: step n takes a database from version n to n + 1
    /// (`PRAGMA user_version` holds the version). A later dkrun adds steps and never changes
    /// one, so that it reads every history an older one wrote; an older dkrun refuses a newer
    /// history rather than write what it does not know.
    static let migrations = [
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            flow TEXT NOT NULL,
            dag_hash TEXT,
            parameters TEXT,          -- JSON, secrets masked
            placement TEXT NOT NULL,  -- here | kubernetes
            executor TEXT,
            started REAL NOT NULL,    -- wall-clock seconds
            ended REAL,
            state TEXT NOT NULL,
            message TEXT
        );
        CREATE INDEX runs_by_start ON runs (started);
        CREATE INDEX runs_by_flow ON runs (flow, started);
        CREATE TABLE task_runs (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            task TEXT NOT NULL,
            map_index INTEGER NOT NULL,  -- -1 for the task itself, else the mapped child's index
            position INTEGER NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            duration REAL,
            worker TEXT,
            message TEXT,
            result_location TEXT,
            started REAL,
            ended REAL,
            PRIMARY KEY (run_id, task, map_index)
        ) WITHOUT ROWID;
        """,
        // `dkrun resume RUN` runs a paused run's script again with its parameters.
        """
        ALTER TABLE runs ADD COLUMN script TEXT;             -- absolute path; NULL: not run from a script here
        ALTER TABLE runs ADD COLUMN script_parameters TEXT;  -- JSON: the parameter values it was given, secrets masked
        """,
    ]

    /// The schema version this dkrun writes.
    public static var schemaVersion: Int { migrations.count }

    /// `history/` under `Product.home`.
    public static var defaultDirectory: String { Product.home + "/history" }

    public let directory: String
    public var databasePath: String { directory + "/runs.sqlite" }
    private let db: SQLiteConnection

    /// Opens the history in `directory` (made when missing), bringing an older schema up to date.
    public init(directory: String = RunHistory.defaultDirectory, busyTimeout: Double = RunHistory.defaultBusyTimeout) throws {
        self.directory = directory
        try Self.makeDirectory(directory + "/logs")
        db = try SQLiteConnection(path: directory + "/runs.sqlite", busyTimeout: busyTimeout)
        try db.execute("PRAGMA foreign_keys = ON")
        // A row rewritten once a secret in it became known leaves no old bytes in its page
        // (`forgetOverwritten`).
        try db.execute("PRAGMA secure_delete = ON")
        if try version() != Self.schemaVersion {
            try db.writing {
                // Read again under the write lock: another dkrun may have migrated meanwhile.
                let found = try version()
                guard found < Self.schemaVersion else { return }
                for step in Self.migrations[found...] { try db.execute(step) }
                try db.execute("PRAGMA user_version = \(Self.schemaVersion)")
            }
        }
    }

    /// Leaves no earlier version of a rewritten row in any file: the write-ahead log keeps the
    /// pages a run wrote before a secret became known (a parameter whose value a task then
    /// read as a secret, masked only from then on) until a checkpoint, which this makes and
    /// then empties the log. False when another dkrun using the history kept it from emptying the log.
    public func forgetOverwritten() throws -> Bool {
        try db.rows("PRAGMA wal_checkpoint(TRUNCATE)").first?.first?.int == 0
    }

    /// The database's schema version, checked: a newer one is refused.
    private func version() throws -> Int {
        let found = Int(try db.rows("PRAGMA user_version").first?.first?.int ?? 0)
        guard found <= Self.schemaVersion else {
            throw SchemaError(description: "\(databasePath) was written by a newer dkrun (history schema version \(found); "
                + "this dkrun \(Product.version) reads versions up to \(Self.schemaVersion)): use that dkrun, or set DKRUN_HOME "
                + "to keep this one's history elsewhere")
        }
        return found
    }

    private static func makeDirectory(_ path: String) throws {
        var made = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            made += (made.isEmpty && part.isEmpty ? "" : "/") + part
            if made.isEmpty || Files.kind(made) == "directory" { continue }
            guard mkdir(made, 0o755) == 0 || errno == EEXIST else {
                throw Files.FileError(path: made, reason: String(cString: strerror(errno)), exitStatus: .failure)
            }
        }
    }

    /// The file of the run's events (`RunLog`).
    public func logPath(of run: String) -> String { directory + "/logs/" + run + ".jsonl" }

    // MARK: Writing

    /// Writes a run's row (made or brought up to date) and the rows of these task runs, in one
    /// transaction. What the run does not know (a followed Kubernetes run's DAG hash and
    /// parameters) keeps what was recorded before.
    public func record(_ run: RunRecord, tasks: [TaskRunRecord]) throws {
        let parameters = run.parameters.map { JSON.encode(SecretMask.apply($0)) }
        // The run's row comes first in the same transaction, so its task rows' reference to it
        // holds unchecked. Checking it cost a lookup per row and made each row's statement keep
        // a journal of the pages it changed, which a big write (a run of 100,000 tasks) spilled
        // to a temporary file: 3 of 7 writes to disk per task (docs/performance.md). The pragma
        // does nothing inside a transaction, and `remove` needs it on for its cascade.
        try db.execute("PRAGMA foreign_keys = OFF")
        defer { try? db.execute("PRAGMA foreign_keys = ON") }
        try db.writing {
            try db.rows("""
                INSERT INTO runs (id, flow, dag_hash, parameters, placement, executor, started, ended, state, message, script,
                    script_parameters)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET flow = excluded.flow, dag_hash = coalesce(excluded.dag_hash, dag_hash),
                    parameters = coalesce(excluded.parameters, parameters), placement = excluded.placement,
                    executor = coalesce(excluded.executor, executor), started = min(started, excluded.started),
                    ended = excluded.ended, state = excluded.state, message = excluded.message,
                    script = coalesce(excluded.script, script), script_parameters = coalesce(excluded.script_parameters, script_parameters)
                """, [.text(run.id), .text(run.flow), SQLValue(run.dagHash), SQLValue(parameters), .text(run.placement.rawValue),
                      SQLValue(run.executor), .real(run.started), SQLValue(run.ended), .text(run.state.rawValue),
                      SQLValue(run.message.map(SecretMask.apply)), SQLValue(run.script),
                      SQLValue(run.scriptParameters.map { JSON.encode(SecretMask.apply($0)) })])
            try db.each("""
                INSERT OR REPLACE INTO task_runs (run_id, task, map_index, position, state, attempts, duration, worker, message,
                    result_location, started, ended)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, tasks.map { t in
                    [.text(run.id), .text(t.id.task), .int(Int64(t.id.mapIndex ?? -1)), SQLValue(t.position), .text(t.state.rawValue),
                     SQLValue(t.attempts), SQLValue(t.duration), SQLValue(t.worker), SQLValue(t.message.map(SecretMask.apply)),
                     SQLValue(t.resultLocation), SQLValue(t.started), SQLValue(t.ended)]
                })
        }
    }

    /// Removes runs, their task runs and their log files.
    public func remove(_ ids: [String]) throws {
        try db.writing {
            try db.each("DELETE FROM runs WHERE id = ?", ids.map { [.text($0)] })
        }
        for id in ids { unlink(logPath(of: id)) }
    }

    /// Removes every run that started before `time`; their ids.
    public func prune(startedBefore time: Double) throws -> [String] {
        let ids = try db.rows("SELECT id FROM runs WHERE started < ?", [.real(time)]).compactMap { $0[0].text }
        try remove(ids)
        return ids
    }

    // MARK: Reading

    private static let runColumns = "id, flow, dag_hash, parameters, placement, executor, started, ended, state, message, script, "
        + "script_parameters"

    /// Runs, the latest first.
    /// - Parameters:
    ///   - flow: only this flow's.
    ///   - limit: at most this many.
    public func runs(flow: String? = nil, limit: Int? = nil) throws -> [RunRecord] {
        try db.rows("SELECT \(Self.runColumns) FROM runs WHERE ?1 IS NULL OR flow = ?1 ORDER BY started DESC LIMIT ?2",
                    [SQLValue(flow), .int(Int64(limit ?? -1))]).map(Self.run)
    }

    public func run(_ id: String) throws -> RunRecord? {
        try db.rows("SELECT \(Self.runColumns) FROM runs WHERE id = ?", [.text(id)]).first.map(Self.run)
    }

    /// Every run's id (to find one by its first characters).
    public func runIDs() throws -> [String] {
        try db.rows("SELECT id FROM runs").compactMap { $0[0].text }
    }

    /// The seconds each task (by slug) took in the latest ended run of `flow` that measured
    /// any: one duration a task, and a mapped task's children's (not its own, which is its
    /// collecting): what Dask's fusion batches cheap tasks and children by (docs/dask.md, Fusion).
    /// Only task runs that ran their function count: one that ended without running (Cached, a
    /// resumed result, Skipped, TriggerFailed, Cancelled before it started) took no time that
    /// says what running it costs.
    public func latestDurations(flow: String) throws -> [String: [Double]] {
        let rows = try db.rows("""
            SELECT m.task, m.map_index, m.duration FROM task_runs m WHERE \(Self.ranItsFunction("m")) AND m.run_id = (
                SELECT r.id FROM runs r WHERE r.flow = ? AND r.ended IS NOT NULL
                AND EXISTS (SELECT 1 FROM task_runs t WHERE t.run_id = r.id AND \(Self.ranItsFunction("t")))
                ORDER BY r.started DESC LIMIT 1)
            ORDER BY m.map_index
            """, [.text(flow)])
        var own: [String: Double] = [:], children: [String: [Double]] = [:]
        for r in rows {
            guard let task = r[0].text, let d = r[2].real else { continue }
            if (r[1].int ?? -1) < 0 { own[task] = d } else { children[task, default: []].append(d) }
        }
        return own.mapValues { [$0] }.merging(children) { _, kids in kids }
    }

    /// SQL: the task run `row` ran its function (at least one attempt, ending in a state only
    /// running reaches) and measured how long that took.
    private static func ranItsFunction(_ row: String) -> String {
        "\(row).duration IS NOT NULL AND \(row).attempts > 0 AND \(row).state IN ('Success', 'Failed', 'TimedOut')"
    }

    /// The run's task runs in their order: each task where it first changed state, its mapped
    /// children after it.
    public func tasks(of run: String) throws -> [TaskRunRecord] {
        try db.rows("""
            SELECT task, map_index, position, state, attempts, duration, worker, message, result_location, started, ended
            FROM task_runs WHERE run_id = ? ORDER BY position, map_index
            """, [.text(run)]).map { r in
            TaskRunRecord(id: TaskRunID(task: r[0].text ?? "", mapIndex: r[1].int.flatMap { $0 < 0 ? nil : Int($0) }),
                          position: Int(r[2].int ?? 0), state: StateKind(rawValue: r[3].text ?? "") ?? .pending,
                          attempts: Int(r[4].int ?? 0), duration: r[5].real, worker: r[6].text, message: r[7].text,
                          resultLocation: r[8].text, started: r[9].real, ended: r[10].real)
        }
    }

    private static func run(_ r: [SQLValue]) -> RunRecord {
        RunRecord(id: r[0].text ?? "", flow: r[1].text ?? "", dagHash: r[2].text,
                  parameters: r[3].text.flatMap { try? JSON.decode(Array($0.utf8), maxDepth: Value.maxMessageDepth) },
                  placement: RunRecord.Placement(rawValue: r[4].text ?? "") ?? .here, executor: r[5].text,
                  started: r[6].real ?? 0, ended: r[7].real, state: StateKind(rawValue: r[8].text ?? "") ?? .pending, message: r[9].text,
                  script: r[10].text,
                  scriptParameters: r[11].text.flatMap { try? JSON.decode(Array($0.utf8), maxDepth: Value.maxMessageDepth) })
    }
}
