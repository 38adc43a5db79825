import AugurCore
import CShim

/// What the worker applies, and what it records once it has (CShim/worker.c runs the DDL
/// itself, outside any transaction, over a session of its own).
enum Apply {
    /// Approved recommendations of the index kinds, asked for with augur.apply() first,
    /// then, while the maintenance window is open, the others by benefit.
    private static let next = """
        SELECT r.id, d.datname, current_user AS role, r.ddl,
               CASE r.kind WHEN 'drop_index' THEN r.target
                           ELSE substring(r.rollback_ddl FROM '^DROP INDEX CONCURRENTLY (.*);$') END AS index_name
          FROM augur.recommendation r JOIN pg_catalog.pg_database d ON d.oid = r.dbid
         WHERE r.status = 'approved' AND r.kind IN ('create_index', 'drop_index')
           AND (r.apply_requested_at IS NOT NULL OR $1::bool)
         ORDER BY r.apply_requested_at NULLS LAST, r.estimated_benefit DESC NULLS LAST, r.id
         LIMIT 1
        """

    /// The server's local weekday (0 = Sunday) and minute of the day, as the window reads them.
    private static let now = """
        SELECT extract(dow FROM now())::int AS weekday,
               (extract(hour FROM now()) * 60 + extract(minute FROM now()))::int AS minute
        """

    static let finishSQL = """
        WITH done AS (
            UPDATE augur.recommendation SET status = $2::text, apply_requested_at = NULL, updated_at = now()
             WHERE id = $1::bigint AND status = 'approved'
            RETURNING id, ddl)
        INSERT INTO augur.action_log (recommendation_id, actor, action, ddl, outcome, error)
        SELECT id, 'augur collector', 'apply', ddl, $2::text, $3::text FROM done
        """

    static func windowIsOpen() throws -> Bool {
        let setting = try SPI.query("SELECT current_setting('augur.maintenance_window') AS window").first?["window"]?.text ?? ""
        guard let window = try? MaintenanceWindow(parsing: setting),
              let row = try SPI.query(now).first, let weekday = row["weekday"]?.int, let minute = row["minute"]?.int
        else { return false }
        return window.contains(weekday: Int(weekday), minuteOfDay: Int(minute))
    }

    static func next(into item: inout augur_apply_item) throws -> Bool {
        guard let row = try SPI.query(next, [try windowIsOpen() ? "t" : "f"]).first,
              let id = row["id"]?.int, let database = row["datname"]?.text, let ddl = row["ddl"]?.text
        else { return false }
        item.id = id
        copy(database, into: &item.database)
        copy(row["role"]?.text ?? "", into: &item.user)
        copy(ddl, into: &item.ddl)
        copy(row["index_name"]?.text ?? "", into: &item.index)
        return true
    }

    /// Copies text into a fixed C array, cut to fit and NUL-terminated.
    private static func copy<Tuple>(_ text: String, into tuple: inout Tuple) {
        withUnsafeMutableBytes(of: &tuple) { bytes in
            let utf8 = Array(text.utf8.prefix(bytes.count - 1))
            bytes.copyBytes(from: utf8)
            bytes[utf8.count] = 0
        }
    }
}

@_cdecl("augur_swift_next_apply")
func augurSwiftNextApply(_ item: UnsafeMutablePointer<augur_apply_item>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) { try Apply.next(into: &item.pointee) }
}

@_cdecl("augur_swift_finish_apply")
func augurSwiftFinishApply(_ id: Int64, _ applied: Bool, _ message: UnsafePointer<CChar>?,
                           _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try SPI.execute(Apply.finishSQL, [String(id), applied ? "applied" : "failed", message.map { String(cString: $0) }])
        return true
    }
}
