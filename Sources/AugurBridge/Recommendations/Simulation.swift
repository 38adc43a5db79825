import AugurCore
import CShim

/// augur.simulate(id): one recommendation's what-if on its own, against the captured
/// workload as it is now: the planner's cost of each statement using its table with and
/// without the change (a hypothetical index for create_index; the index hidden with
/// hypopg_hide_index for drop_index); a schema change measured by shadow simulation; a
/// sharding plan scored on the transactions sampled since it was made. Nothing real
/// changes.
enum Simulation {
    private static let recommendation = """
        SELECT r.kind, r.status, r.target, coalesce(r.evidence ->> 'table', '') AS table_name,
               array_to_string(ARRAY(SELECT jsonb_array_elements_text(r.evidence -> 'columns')), ',') AS columns,
               array_to_string(ARRAY(SELECT jsonb_array_elements_text(r.evidence -> 'include')), ',') AS include,
               coalesce(r.evidence ->> 'method', 'btree') AS method, r.evidence ->> 'predicate' AS predicate
          FROM augur.recommendation r
         WHERE r.id = $1::bigint AND r.dbid = \(currentDatabaseOID)
         FOR UPDATE
        """

    private static let record = """
        WITH done AS (
            UPDATE augur.recommendation
               SET status = CASE status WHEN 'proposed' THEN 'simulated' ELSE status END, updated_at = now(),
                   evidence = evidence || jsonb_build_object('simulation', $2::jsonb)
             WHERE id = $1::bigint
            RETURNING id, ddl, status)
        INSERT INTO augur.action_log (recommendation_id, action, ddl, outcome, reason)
        SELECT id, 'simulate', ddl, status, $3::text FROM done
        """

    static func run(id: Int64) throws {
        guard let row = try SPI.execute(recommendation, [String(id)]).rows.first,   // FOR UPDATE: not read-only
              let kind = row["kind"]?.text, let status = row["status"]?.text, let table = row["table_name"]?.text
        else {
            throw PGError(sqlstate: .invalidParameterValue, message: "recommendation \(id) does not exist in this database",
                          hint: "augur.recommendations lists the ids.")
        }
        guard ["proposed", "simulated", "approved"].contains(status) else {
            throw PGError(sqlstate: .objectNotInPrerequisiteState, message: "recommendation \(id) is \(status), so it cannot be simulated",
                          hint: "Only a proposed, simulated or approved recommendation can be.")
        }
        let target = row["target"]?.text ?? ""
        if let change = SchemaChange.Kind(rawValue: kind), SchemaAdvice.kinds.contains(change) {
            let options = SchemaAdvice.Options(largeTableBytes: 0, sampleRows: SchemaAdvice.defaultSampleRows, simulate: true)
            return try recordShadowSimulation(id: id, table: table,
                                              SchemaAdvice.resimulate(kind: kind, target: target, table: table, options: options),
                                              refresh: "augur.recommend_schema()")
        }
        if kind == "create_index", row["method"]?.text == "gin" {
            return try recordShadowSimulation(id: id, table: table, TrigramIndexAdvice.resimulate(table: table, target: target),
                                              refresh: "augur.recommend_indexes()")
        }
        if kind == ShardingAdvice.kind {
            let score = try ShardingAdvice.evaluate(id: id, measured: false)
            try SPI.execute(record, [String(id), score, "scored on the transactions sampled since the plan was made"])
            return
        }
        guard kind == "create_index" || kind == "drop_index" else {
            throw PGError(sqlstate: SQLState("0A000")!, message: "recommendations of kind \(kind) cannot be simulated")
        }
        let schema = try IndexCreationAdvice.hypopg()
        if kind == "drop_index",
           try SPI.query("SELECT to_regprocedure($1) IS NULL AS missing", ["\(schema).hypopg_hide_index(oid)"])
               .first?["missing"] == .bool(true) {
            throw PGError(sqlstate: SQLState("0A000")!, message: "simulating an index drop needs hypopg 1.4 or later",
                          hint: "It hides the index with hypopg_hide_index(); ALTER EXTENSION hypopg UPDATE once a newer hypopg is installed.")
        }
        let captured = try IndexCreationAdvice.CapturedWorkload.load()
        var costing = try IndexCreationAdvice.planner(schema: schema, for: captured)
        defer {
            costing.cleanUp()
            if kind == "drop_index" { _ = try? SPI.execute("SELECT \(schema).hypopg_unhide_all_indexes()") }
        }
        try costing.begin()
        let statements = captured.statements.filter { $0.tables.contains(table) }
        var effects: [IndexSelection.Effect] = []
        for statement in statements {
            let before: Double?, after: Double?
            if kind == "create_index" {
                let design = IndexDesign(table: table, columns: list(row["columns"]),
                                         method: IndexDesign.Method(rawValue: row["method"]?.text ?? "") ?? .btree,
                                         include: list(row["include"]), predicate: row["predicate"]?.text)
                before = try costing.cost(of: statement, with: [])
                after = try costing.cost(of: statement, with: [design])
            } else {
                guard let index = row["target"]?.text else { continue }
                _ = try SPI.execute("SELECT \(schema).hypopg_unhide_all_indexes()")
                before = try costing.cost(of: statement, with: [])
                _ = try SPI.execute("SELECT \(schema).hypopg_hide_index($1::regclass)", [index])
                after = try costing.cost(of: statement, with: [])
            }
            guard let before, let after else { continue }
            effects.append(.init(queryid: statement.queryid, callsPerDay: statement.callsPerDay,
                                 costWithout: before, costWith: after))
        }
        let benefit = effects.reduce(0) { $0 + $1.callsPerDay * ($1.costWithout - $1.costWith) }
        let summary = JSONText.object([
            ("queries", JSONText.array(of: effects.map(\.members))),
            ("benefit_per_day", JSONText.number(benefit)),
        ])
        try SPI.execute(record, [String(id), summary,
                                 "\(effects.count) statements planned: \(JSONText.number(benefit)) planner cost units a day saved"])
    }

    /// Records a shadow simulation run again (a schema change, a trigram index); nil: the
    /// data no longer calls for the change, or it no longer pays.
    private static func recordShadowSimulation(id: Int64, table: String, _ simulation: String?, refresh: String) throws {
        guard let simulation else {
            throw PGError(sqlstate: .objectNotInPrerequisiteState,
                          message: "recommendation \(id) no longer holds: the data of \(table) does not call for it now, "
                              + "or on a sample of it the change fails or does not pay",
                          hint: "\(refresh) refreshes the advice.")
        }
        try SPI.execute(record, [String(id), simulation, "measured on shadow copies of a sample of \(table)"])
    }

    private static func list(_ value: SQLValue?) -> [String] {
        (value?.text ?? "").split(separator: ",").map(String.init)
    }
}

@_cdecl("augur_swift_simulate")
func augurSwiftSimulate(_ id: Int64, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try Simulation.run(id: id)
        return true
    }
}
