import AugurCore
import CShim

/// What the worker applies or rolls back, and what it records once it has (CShim/worker.c
/// runs the DDL itself, outside any transaction, over a session of its own).
enum Apply {
    /// DDL longer than augur_apply_item.ddl holds is never handed over cut short (Augur's
    /// own is a few hundred bytes; a longer one was written by hand, and stays as it is).
    private static let ddlCapacity = MemoryLayout.size(ofValue: augur_apply_item().ddl)

    /// The index a recommendation's DDL or rollback DDL creates or drops.
    private static let indexName = """
        CASE r.kind WHEN 'drop_index' THEN r.target
                    ELSE substring(r.rollback_ddl FROM '^DROP INDEX CONCURRENTLY (.*);$') END
        """

    /// Whether augur.advise_interval has passed since the worker last refreshed the advice.
    private static let adviceIsDue = """
        SELECT current_setting('augur.advise_interval')::interval > interval '0'
               AND coalesce((SELECT max(at) FROM augur.action_log WHERE action = 'refresh' AND actor = 'augur collector')
                              < now() - current_setting('augur.advise_interval')::interval, true) AS due
        """

    /// Index advice (with hypopg installed here, else drops only) and schema advice for
    /// the worker's own database, so that augur.auto_apply has proposals to approve; the
    /// outcome logged as a 'refresh' action. A failure is logged, not raised: applying
    /// what is approved goes on.
    private static func refreshAdviceIfDue() throws {
        guard try SPI.query(adviceIsDue).first?["due"] == .bool(true) else { return }
        let log = """
            INSERT INTO augur.action_log (actor, action, outcome, error, reason)
            VALUES ('augur collector', 'refresh', $1, $2, 'augur.advise_interval passed while augur.maintenance_window is open')
            """
        do {
            let open = try SPI.execute("""
                SELECT (SELECT count(*) FROM augur.recommend_indexes(
                            include_new => EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hypopg')))
                     + (SELECT count(*) FROM augur.recommend_schema()) AS open
                """).rows.first?["open"]?.int ?? 0
            try SPI.execute(log, ["\(open) open recommendations", nil])
        } catch let error as PGError where !error.isInterruption {
            try SPI.execute(log, ["failed", error.message])
        }
    }

    /// The queries of the changed table: the ones whose latency and plans tell whether it helped.
    private static let affected = """
        (SELECT string_agg(DISTINCT u.queryid::text, ',') FROM augur.relation_use u
          WHERE u.dbid = r.dbid AND u.relname = r.evidence ->> 'table') AS queryids
        """

    /// What the collector's session runs to apply a recommendation: its DDL, or for a
    /// sharding plan the function that checks the plan against the tables and runs its
    /// Citus script in one transaction.
    private static let applyStatement = """
        CASE r.kind WHEN 'distribute' THEN format('SELECT augur.distribute(%s)', r.id) ELSE r.ddl END
        """

    /// Approved recommendations, asked for with augur.apply() first, then, while the
    /// maintenance window is open, the others by benefit. A partition's DDL is a migration
    /// script for a DBA: never run here.
    private static let nextApproved = """
        SELECT r.id, d.datname, current_user AS role, \(applyStatement) AS ddl, \(indexName) AS index_name,
               r.dbid::text AS dbid, \(affected)
          FROM augur.recommendation r JOIN pg_catalog.pg_database d ON d.oid = r.dbid
         WHERE r.status = 'approved' AND r.kind <> 'partition'
           AND (r.apply_requested_at IS NOT NULL OR $1::bool)
           AND octet_length(\(applyStatement)) < \(ddlCapacity)
         ORDER BY r.apply_requested_at NULLS LAST, r.estimated_benefit DESC NULLS LAST, r.id
         LIMIT 1
        """

    /// Applied changes not judged yet, with what their verdict needs: the table's queries
    /// and when the first flush window wholly after the change began. A sharding plan is
    /// not judged by latency (each query crosses the network once distributed): it is
    /// scored on the transactions sampled since (`sharding_evaluate`).
    private static let applied = """
        SELECT r.id, r.dbid::text AS dbid, d.datname, current_user AS role, r.rollback_ddl, \(indexName) AS index_name,
               r.applied_at, r.applied_at + current_setting('augur.naptime')::interval AS after_from,
               \(affected), coalesce(r.evidence -> 'plans_before', '{}')::text AS plans_before
          FROM augur.recommendation r JOIN pg_catalog.pg_database d ON d.oid = r.dbid
         WHERE r.status = 'applied' AND r.kind <> 'distribute' AND r.applied_at IS NOT NULL
           AND octet_length(r.rollback_ddl) < \(ddlCapacity)
         ORDER BY r.applied_at
        """

    private static let verified = """
        WITH done AS (
            UPDATE augur.recommendation
               SET status = 'verified', measured_benefit = $2::float8, updated_at = now(),
                   evidence = evidence || jsonb_build_object('verification', $3::jsonb)
             WHERE id = $1::bigint AND status = 'applied'
            RETURNING id)
        INSERT INTO augur.action_log (recommendation_id, actor, action, outcome, reason)
        SELECT id, 'augur collector', 'verify', 'verified', $4::text FROM done
        """

    /// While the window is open, what augur.auto_apply covers is approved by the worker.
    private static let autoApprove = """
        WITH approved AS (
            UPDATE augur.recommendation SET status = 'approved', updated_at = now()
             WHERE status = 'proposed'
               AND CASE current_setting('augur.auto_apply') WHEN 'all' THEN kind NOT IN ('partition', 'distribute')
                                                            WHEN 'indexes' THEN kind IN ('create_index', 'drop_index')
                                                            ELSE false END
            RETURNING id, ddl)
        INSERT INTO augur.action_log (recommendation_id, actor, action, ddl, outcome, reason)
        SELECT id, 'augur collector', 'approve', ddl, 'approved',
               'augur.auto_apply = ' || current_setting('augur.auto_apply')
          FROM approved
        """

    /// The server's local weekday (0 = Sunday) and minute of the day, as the window reads them.
    private static let now = """
        SELECT extract(dow FROM now())::int AS weekday,
               (extract(hour FROM now()) * 60 + extract(minute FROM now()))::int AS minute
        """

    /// The outcome of an apply ($2: applied or failed) or a rollback ($2: rolled_back, or
    /// failed), with the error or the reason.
    private static let finish = """
        WITH done AS (
            UPDATE augur.recommendation
               SET status = $2::text, apply_requested_at = NULL, updated_at = now(),
                   applied_at = CASE WHEN $2::text = 'applied' THEN now() ELSE applied_at END
             WHERE id = $1::bigint AND status = $5::text
            RETURNING id, ddl, rollback_ddl)
        INSERT INTO augur.action_log (recommendation_id, actor, action, ddl, outcome, error, reason)
        SELECT id, 'augur collector', $6::text, CASE WHEN $6::text = 'rollback' THEN rollback_ddl ELSE ddl END,
               $2::text, $3::text, $4::text
          FROM done
        """

    static func windowIsOpen() throws -> Bool {
        let setting = try SPI.query("SELECT current_setting('augur.maintenance_window') AS window").first?["window"]?.text ?? ""
        guard let window = try? MaintenanceWindow(parsing: setting),
              let row = try SPI.query(now).first, let weekday = row["weekday"]?.int, let minute = row["minute"]?.int
        else { return false }
        return window.contains(weekday: Int(weekday), minuteOfDay: Int(minute))
    }

    /// The next rollback (first) or apply due; false when there is none. Changes judged
    /// good on the way are marked verified.
    static func next(into item: inout augur_apply_item) throws -> Bool {
        if try nextRollback(into: &item) { return true }
        if try nextPlacementStep(into: &item) { return true }
        let windowIsOpen = try windowIsOpen()
        if windowIsOpen {
            try refreshAdviceIfDue()
            try SPI.execute(autoApprove)
        }
        guard let row = try SPI.query(nextApproved, [windowIsOpen ? "t" : "f"]).first,
              let id = row["id"]?.int, let ddl = row["ddl"]?.text
        else { return false }
        if let plans = try plans(of: queryids(row), database: row["dbid"]?.text ?? "") {
            try SPI.execute("""
                UPDATE augur.recommendation SET evidence = evidence || jsonb_build_object('plans_before', $2::jsonb)
                 WHERE id = $1::bigint
                """, [String(id), JSONText.object(plans.map { (String($0.key), JSONText.string($0.value)) })])
        }
        fill(&item, id: id, row: row, ddl: ddl)
        return true
    }

    /// The next step placing an applied sharding plan's keys on their nodes, for the plans
    /// of this database (the step is computed from its Citus metadata); it follows the
    /// apply at once, step after step.
    private static func nextPlacementStep(into item: inout augur_apply_item) throws -> Bool {
        guard let row = try SPI.query(placementStep).first, let id = row["id"]?.int, let step = row["step"]?.text else {
            return false
        }
        fill(&item, id: id, row: row, ddl: step)
        item.placement = true
        copyCString("the plan places its keys on their nodes", into: &item.reason)
        return true
    }

    private static let placementStep = """
        SELECT * FROM (
            SELECT r.id, d.datname, current_user AS role, augur.next_placement_step(r.id) AS step, r.applied_at
              FROM augur.recommendation r JOIN pg_catalog.pg_database d ON d.oid = r.dbid
             WHERE r.kind = 'distribute' AND r.status = 'applied' AND r.dbid = \(currentDatabaseOID)) AS s
         WHERE s.step IS NOT NULL
         ORDER BY s.applied_at, s.id
         LIMIT 1
        """

    /// A placement step's outcome, in the action log; one that failed ends the plan's
    /// placement (evidence -> 'placement_failed'), as the DBA must look.
    private static let placed = """
        WITH logged AS (
            INSERT INTO augur.action_log (recommendation_id, actor, action, ddl, outcome, error, reason)
            VALUES ($1::bigint, 'augur collector', 'place', $2, $3, $4, $5))
        UPDATE augur.recommendation SET evidence = evidence || jsonb_build_object('placement_failed', $4::text), updated_at = now()
         WHERE id = $1::bigint AND $3 = 'failed'
        """

    private static func queryids(_ row: SPIRow) -> [Int64] {
        (row["queryids"]?.text ?? "").split(separator: ",").compactMap { Int64($0) }
    }

    /// Each query's plan shape now, planned from its latest example execution; nil for a
    /// change in another database than the worker's (its plans cannot be asked for here).
    private static func plans(of queryids: [Int64], database: String) throws -> [Int64: String]? {
        guard try SPI.query("SELECT \(currentDatabaseOID)::text = $1 AS here", [database]).first?["here"] == .bool(true)
        else { return nil }
        let examples = try IndexCreationAdvice.examples()
        var plans: [Int64: String] = [:]
        for queryid in queryids {
            guard let example = examples[queryid]?.first else { continue }
            do {
                if let json = try ExampleExplain.explain(example.text, arguments: example.arguments, as: example.sender,
                                                         options: "FORMAT JSON") {
                    plans[queryid] = NormalizedStatement.planShape(ofExplainJSON: json)
                }
            } catch let error as PGError where !error.isInterruption {
                continue
            }
        }
        return plans
    }

    /// Plans before (recorded when the change was handed over) and now, per query, and
    /// how many changed.
    private static func planComparison(_ row: SPIRow, queryids: [Int64], database: String) throws -> (json: String, changed: Int)? {
        guard let after = try plans(of: queryids, database: database) else { return nil }
        // Keys that read as the same query id ("12", "012": evidence a DBA edited) must not
        // trap: the first one wins.
        let before = Dictionary(try SPI.query("SELECT key, value FROM jsonb_each_text($1::jsonb)",
                                              [row["plans_before"]?.text ?? "{}"])
            .compactMap { row -> (Int64, String)? in
                guard let key = row["key"]?.text.flatMap({ Int64($0) }), let value = row["value"]?.text else { return nil }
                return (key, value)
            }, uniquingKeysWith: { first, _ in first })
        let compared = queryids.filter { before[$0] != nil && after[$0] != nil }
        let changed = compared.filter { before[$0] != after[$0] }.count
        return (JSONText.array(of: compared.map { [("queryid", String($0)), ("before", JSONText.string(before[$0] ?? "")),
                                                   ("after", JSONText.string(after[$0] ?? ""))] }), changed)
    }

    private static func nextRollback(into item: inout augur_apply_item) throws -> Bool {
        let settings = try SPI.query("""
            SELECT current_setting('augur.verify_calls')::bigint AS calls,
                   current_setting('augur.rollback_threshold')::float8 AS threshold
            """).first
        let minimumCalls = UInt64(max(settings?["calls"]?.int ?? 100, 1))
        let threshold = settings?["threshold"]?.double ?? 0.2
        for row in try SPI.query(applied) {
            guard let id = row["id"]?.int, let database = row["dbid"]?.text, let appliedAt = row["applied_at"]?.text,
                  let afterFrom = row["after_from"]?.text, let rollback = row["rollback_ddl"]?.text else { continue }
            let queries = try queryids(row).map { queryid in
                ChangeVerification.Query(
                    queryid: queryid,
                    before: try cells(queryid: queryid, since: nil, until: appliedAt, database: database),
                    after: try cells(queryid: queryid, since: afterFrom, until: nil, database: database))
            }
            let verdict = ChangeVerification.verdict(queries, minimumCalls: minimumCalls, threshold: threshold)
            if case .pending = verdict { continue }
            let plans = try planComparison(row, queryids: queryids(row), database: database)
            let planNote = plans.map { "; \($0.changed) of the queries planned before and after changed plan" } ?? ""
            switch verdict {
            case .pending:
                continue
            case .verified(let saved, let before, let after, let calls):
                try SPI.execute(verified, [String(id), JSONText.number(saved), summary(before, after, calls, plans: plans?.json),
                                           "the affected queries' median went from \(milliseconds(before)) to \(milliseconds(after)) "
                                               + "per execution over \(calls) executions" + planNote])
            case .rollBack(let before, let after, let calls):
                fill(&item, id: id, row: row, ddl: rollback)
                item.rollback = true
                copyCString("the affected queries' median went from \(milliseconds(before)) to \(milliseconds(after)) per execution "
                         + "over \(calls) executions, beyond augur.rollback_threshold" + planNote, into: &item.reason)
                return true
            }
        }
        return false
    }

    private static func summary(_ before: Double, _ after: Double, _ calls: UInt64, plans: String?) -> String {
        JSONText.object([("before_ms", JSONText.number(before)), ("after_ms", JSONText.number(after)),
                         ("calls", String(calls)), ("plans", plans ?? "null")])
    }

    private static func milliseconds(_ value: Double) -> String {
        let hundredths = value.isFinite ? (value * 100).rounded() / 100 : 0
        return "\(hundredths) ms"
    }

    static func finish(_ item: augur_apply_item, done: Bool, error: String?) throws {
        if item.placement {
            try SPI.execute(placed, [String(item.id), cString(of: item.ddl), done ? "done" : "failed", error,
                                     cString(of: item.reason).nilIfEmpty])
            return
        }
        let status = done ? (item.rollback ? "rolled_back" : "applied") : "failed"
        try SPI.execute(finish, [String(item.id), status, error, cString(of: item.reason).nilIfEmpty,
                                 item.rollback ? "applied" : "approved", item.rollback ? "rollback" : "apply"])
        // Evidence only: an apply's outcome is recorded whatever happens to it.
        if status == "applied" { try? ShardingAdvice.noteCitusCountersAtApply(item.id) }
    }

    private static func fill(_ item: inout augur_apply_item, id: Int64, row: SPIRow, ddl: String) {
        item.id = id
        copyCString(row["datname"]?.text ?? "", into: &item.database)
        copyCString(row["role"]?.text ?? "", into: &item.user)
        copyCString(ddl, into: &item.ddl)
        copyCString(row["index_name"]?.text ?? "", into: &item.index)
    }

}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

@_cdecl("augur_swift_next_apply")
func augurSwiftNextApply(_ item: UnsafeMutablePointer<augur_apply_item>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) { try Apply.next(into: &item.pointee) }
}

@_cdecl("augur_swift_finish_apply")
func augurSwiftFinishApply(_ item: UnsafePointer<augur_apply_item>, _ done: Bool, _ message: UnsafePointer<CChar>?,
                           _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try Apply.finish(item.pointee, done: done, error: message.map { String(cString: $0) })
        return true
    }
}
